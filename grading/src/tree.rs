//! The grader's tree: where a submission is built and graded.
//!
//! A submission is a student's copy of the handout, and everything in it but the student's own
//! files may have been changed: tests, testers, the runtime, Cargo files, the catalogue. So the
//! grader never builds the submission. It makes its own tree, the handout of the grader's own
//! workspace ([`crate::handout::plan`]), copies into it exactly the student files
//! ([`crate::labs`]) of the labs being graded (and of the labs they build on), and builds that.
//! Every other file of the submission that differs from the handout is listed as ignored, so a
//! student who changed a test learns that the change was not used.
//!
//! * **Student files** must be regular files (a symbolic link could point at the course's own
//!   reference solution on the grading machine), UTF-8, and at most [`MAX_FILE_BYTES`]. A
//!   missing or unreadable one is an error that names it.
//! * **Rules.** Each student file is checked against [`crate::rules`] before anything is built.
//!   A lab with a broken rule (or that uses such a lab) is blocked: its files are not copied
//!   (the tree keeps the handout's) and its tests are not built or run.
//! * **One tree, synced.** The tree lives in one folder (by default `target/grade-tree` of the
//!   grader's workspace) that each grading brings to exactly the right content: a file whose
//!   content is already right is left alone, any other is written, and any file that should not
//!   be there is removed. So each submission is graded in a fresh copy, and cargo (building into
//!   a target folder outside the tree) recompiles only what changed between two submissions: the
//!   student crates and the crates above them. A lock file beside the folder keeps two graders
//!   from sharing it at once.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::handout::{self, Content, HandoutError, MARKER};
use crate::labs::{Lab, Labs};
use crate::rules::{self, Violation};

/// The largest student file accepted, in bytes.
pub const MAX_FILE_BYTES: u64 = 4 << 20;

/// The most ignored files recorded (the scoreboard shows fewer).
pub const MAX_IGNORED: usize = 200;

/// Why the grader's tree cannot be made for a submission.
#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    /// The submission folder is not there.
    #[error("the submission {} is not a folder; --path (or each grade batch argument) must be a student's copy of the handout", path.display())]
    NoSubmission {
        /// The path given.
        path: PathBuf,
    },
    /// A student file is missing.
    #[error(
        "the submission has no {file} ({lab}'s student file): submit the whole handout tree with your {file} in it"
    )]
    MissingFile {
        /// The file, relative to the root.
        file: String,
        /// The lab it belongs to.
        lab: String,
    },
    /// A student file cannot be used.
    #[error("the submission's {file} cannot be used: {why}")]
    BadFile {
        /// The file, relative to the root.
        file: String,
        /// Why.
        why: String,
    },
    /// The grader's own workspace cannot be turned into a handout.
    #[error("the grader's own tree cannot be derived from {}: {source}", root.display())]
    Handout {
        /// The grader's workspace.
        root: PathBuf,
        /// Why.
        source: HandoutError,
    },
    /// Writing the tree failed.
    #[error("cannot write the grader's tree at {}: {source}; check --tree and its permissions", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// What to build the tree from.
#[derive(Debug, Clone)]
pub struct TreeRequest<'a> {
    /// The grader's own workspace (its handout is the tree's base).
    pub source: &'a Path,
    /// The student's submission.
    pub submission: &'a Path,
    /// Where the tree goes.
    pub tree: &'a Path,
    /// The labs graded, with the labs they use.
    pub labs: Vec<&'a Lab>,
    /// Check the rules (turned off only by the grader's own tests of its run-time defences).
    pub check_rules: bool,
}

/// A file of the submission that the grader does not use.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ignored {
    /// The path, relative to the root.
    pub path: String,
    /// `differs from the handout`, or `is not in the handout`.
    pub why: &'static str,
}

/// The grader's tree, ready to build.
#[derive(Debug)]
pub struct Tree {
    /// Its root.
    pub root: PathBuf,
    /// The student files copied from the submission.
    pub copied: Vec<String>,
    /// Every broken rule, in file and line order.
    pub violations: Vec<Violation>,
    /// The ids of the labs not built because of them.
    pub blocked: BTreeSet<String>,
    /// The submission's other changes, which were not used (at most [`MAX_IGNORED`]).
    pub ignored: Vec<Ignored>,
    /// How many there were in all.
    pub ignored_total: usize,
    /// Held while the tree is in use.
    _lock: std::fs::File,
}

/// Makes (or syncs) the grader's tree for a submission.
pub fn prepare(request: &TreeRequest<'_>) -> Result<Tree, TreeError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| TreeError::Io { path, source }
    };
    if !request.submission.is_dir() {
        return Err(TreeError::NoSubmission { path: request.submission.to_path_buf() });
    }
    let parent = request.tree.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(io(parent))?;
    let lock_path = request.tree.with_extension("lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(io(&lock_path))?;
    lock.lock().map_err(io(&lock_path))?;

    let source = request.source.canonicalize().map_err(io(request.source))?;
    let tree_inside = crate::output::absolute(request.tree).strip_prefix(&source).ok().map(Path::to_path_buf);
    let (files, _) = handout::plan(&source, tree_inside.as_deref())
        .map_err(|source_error| TreeError::Handout { root: source.clone(), source: source_error })?;
    let mut desired: BTreeMap<String, Content> =
        files.into_iter().map(|f| (f.relative.to_string_lossy().replace('\\', "/"), f.content)).collect();

    // The student files of the graded labs, read and checked.
    let mut student: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut violations = Vec::new();
    for lab in &request.labs {
        for file in &lab.files {
            let text = read_student_file(request.submission, file, lab)?;
            if request.check_rules {
                violations.extend(rules::check(file, &text));
            }
            student.insert(file.clone(), (lab.id.clone(), text));
        }
    }
    let broken: BTreeSet<String> =
        violations.iter().filter_map(|v| student.get(&v.file).map(|(lab, _)| lab.clone())).collect();
    let labs = Labs::builtin();
    let blocked = labs.blocked_by(&broken);
    let mut copied = Vec::new();
    for (file, (lab, text)) in &student {
        if !blocked.contains(lab) {
            desired.insert(file.clone(), Content::Text(text.clone()));
            copied.push(file.clone());
        }
    }

    let all_student: BTreeSet<&str> = labs.all_files().collect();
    let (ignored, ignored_total) = ignored_files(request.submission, &desired, &all_student)?;
    sync(request.tree, &desired)?;
    Ok(Tree {
        root: request.tree.to_path_buf(),
        copied,
        violations,
        blocked,
        ignored,
        ignored_total,
        _lock: lock,
    })
}

/// Reads one student file of the submission, refusing links, huge files and non-UTF-8.
fn read_student_file(submission: &Path, file: &str, lab: &Lab) -> Result<String, TreeError> {
    let bad = |why: String| TreeError::BadFile { file: file.to_string(), why };
    let mut path = submission.to_path_buf();
    for component in file.split('/') {
        path.push(component);
        match std::fs::symlink_metadata(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(TreeError::MissingFile { file: file.to_string(), lab: lab.title() });
            }
            Err(e) => return Err(bad(format!("{e}"))),
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(bad(format!(
                    "{} is a symbolic link; submit the file itself",
                    path.strip_prefix(submission).unwrap_or(&path).display()
                )));
            }
            Ok(_) => {}
        }
    }
    let meta = std::fs::metadata(&path).map_err(|e| bad(e.to_string()))?;
    if !meta.is_file() {
        return Err(bad("it is not a regular file".into()));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(bad(format!(
            "it has {} bytes, more than the {MAX_FILE_BYTES} the grader accepts",
            meta.len()
        )));
    }
    let bytes = std::fs::read(&path).map_err(|e| bad(e.to_string()))?;
    String::from_utf8(bytes).map_err(|_| bad("it is not UTF-8 text".into()))
}

/// The submission's files that differ from what the grader builds, student files of any lab
/// excepted (those of labs not graded now are not news).
fn ignored_files(
    submission: &Path,
    desired: &BTreeMap<String, Content>,
    student: &BTreeSet<&str>,
) -> Result<(Vec<Ignored>, usize), TreeError> {
    let mut ignored = Vec::new();
    for relative in walk_files(submission)? {
        if student.contains(relative.as_str()) || relative == MARKER {
            continue;
        }
        let path = submission.join(&relative);
        let why = match desired.get(&relative) {
            None => "is not in the handout",
            Some(content) => {
                let theirs = std::fs::read(&path).ok();
                if theirs.is_some() && theirs == content.bytes().ok() {
                    continue;
                }
                "differs from the handout"
            }
        };
        ignored.push(Ignored { path: relative, why });
    }
    ignored.sort();
    let total = ignored.len();
    ignored.truncate(MAX_IGNORED);
    Ok((ignored, total))
}

/// Every regular file under `root`, relative and `/`-separated, outside `target` and `.git`
/// folders; symbolic links are neither followed nor listed.
fn walk_files(root: &Path) -> Result<Vec<String>, TreeError> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries =
            std::fs::read_dir(&dir).map_err(|source| TreeError::Io { path: dir.clone(), source })?;
        for entry in entries {
            let entry = entry.map_err(|source| TreeError::Io { path: dir.clone(), source })?;
            let kind = entry.file_type().map_err(|source| TreeError::Io { path: entry.path(), source })?;
            let name = entry.file_name();
            if kind.is_dir() {
                if name != "target" && name != ".git" {
                    stack.push(entry.path());
                }
            } else if kind.is_file() {
                let path = entry.path();
                let relative = path.strip_prefix(root).unwrap_or(&path);
                out.push(relative.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Brings the folder `tree` to exactly `desired`: right files are left alone (so their times
/// stay, and cargo does not rebuild them), others are written, extra ones removed.
fn sync(tree: &Path, desired: &BTreeMap<String, Content>) -> Result<(), TreeError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| TreeError::Io { path, source }
    };
    std::fs::create_dir_all(tree).map_err(io(tree))?;
    let present: BTreeSet<String> = walk_files(tree)?.into_iter().collect();
    for relative in &present {
        if !desired.contains_key(relative) {
            let path = tree.join(relative);
            std::fs::remove_file(&path).map_err(io(&path))?;
        }
    }
    for (relative, content) in desired {
        let path = tree.join(relative);
        let want = content.bytes().map_err(io(&path))?;
        if present.contains(relative) && std::fs::read(&path).ok().as_deref() == Some(want.as_slice()) {
            continue;
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io(dir))?;
        }
        // A symbolic link left in the tree must not redirect the write.
        if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink() || m.is_dir()) {
            let removed =
                if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
            removed.map_err(io(&path))?;
        }
        std::fs::write(&path, &want).map_err(io(&path))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("grade-tree-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn sync_writes_only_what_changed_and_removes_the_rest() {
        let tree = dir("sync");
        std::fs::create_dir_all(tree.join("a")).unwrap();
        std::fs::write(tree.join("a/same.txt"), "same").unwrap();
        std::fs::write(tree.join("a/old.txt"), "old").unwrap();
        std::fs::write(tree.join("stale.txt"), "stale").unwrap();
        let before = std::fs::metadata(tree.join("a/same.txt")).unwrap().modified().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let desired: BTreeMap<String, Content> = [
            ("a/same.txt".to_string(), Content::Text("same".into())),
            ("a/old.txt".to_string(), Content::Text("new".into())),
            ("b/c.txt".to_string(), Content::Text("c".into())),
        ]
        .into();
        sync(&tree, &desired).unwrap();
        assert_eq!(std::fs::metadata(tree.join("a/same.txt")).unwrap().modified().unwrap(), before);
        assert_eq!(std::fs::read_to_string(tree.join("a/old.txt")).unwrap(), "new");
        assert_eq!(std::fs::read_to_string(tree.join("b/c.txt")).unwrap(), "c");
        assert!(!tree.join("stale.txt").exists());
        let _ = std::fs::remove_dir_all(&tree);
    }

    #[cfg(unix)]
    #[test]
    fn student_files_must_be_real_files() {
        let sub = dir("links");
        std::fs::create_dir_all(sub.join("raft/src")).unwrap();
        let secret = sub.join("secret.rs");
        std::fs::write(&secret, "pub fn reference() {}").unwrap();
        std::os::unix::fs::symlink(&secret, sub.join("raft/src/raft.rs")).unwrap();
        let labs = Labs::builtin();
        let lab = labs.get("3").unwrap();
        let err = read_student_file(&sub, "raft/src/raft.rs", lab).unwrap_err().to_string();
        assert!(err.contains("is a symbolic link"), "{err}");
        let missing = read_student_file(&sub, "kvraft/src/rsm.rs", labs.get("4").unwrap()).unwrap_err();
        assert!(missing.to_string().contains("the submission has no kvraft/src/rsm.rs (Lab 4"), "{missing}");
        let _ = std::fs::remove_dir_all(&sub);
    }
}
