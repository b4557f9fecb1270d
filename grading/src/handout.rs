//! `grade handout`: the student tree, derived from the reference tree.
//!
//! The handout is the workspace with every solution region of every `.rs` file stripped
//! (see [`crate::strip`] for the marker convention) and with the files that must not reach
//! students left out. Deriving it, rather than keeping a second tree, means the skeleton, the
//! suites and the framework students get are always those the reference passes.
//!
//! * **Which files.** Those git knows of and does not ignore (`git ls-files --cached
//!   --others --exclude-standard`): tracked files plus new files not yet added, never
//!   `target/` or other ignored output. Without git, or when the source is not the root of
//!   its git repository, a walk of the tree (`ignore`'s walker, with its .gitignore and
//!   hidden-file filters off: without git nothing says what is ignored) that skips `target/`
//!   and `.git/` directories and symbolic links to directories.
//! * **What is left out.** Files matched by the optional `.handout-exclude` at the root (and
//!   that file itself). One pattern per line, relative to the root (a leading or trailing `/`
//!   changes nothing); `#` comments. `*` matches within one path component, `?` one
//!   character but `/`, and `**` across components when it is a whole component (`**/x`,
//!   `x/**`, `a/**/b`; elsewhere it is a `*`); a pattern that names a directory excludes
//!   everything under it. The patterns are `globset` globs, so `[abc]` classes and `{a,b}`
//!   alternatives work too and `\` escapes a special character. Use it for the grading's own
//!   reference answers, such as solution-only tests or notes.
//! * **All or nothing.** Every file is read and stripped before anything is written: a
//!   marker mistake anywhere is reported (each file and line) and the destination is left
//!   untouched.
//! * **Safe reuse.** The destination must be empty, or a previous handout (it holds a
//!   `.handout-generated` file), which is then cleared except for its `.git`, so that the
//!   handout can live in a repository that students clone.
//! * **No dangling references.** A shipped text file (`.rs`, `.md`, `.txt`, `.toml`, a
//!   Makefile) must not cite the developers' reference, which students do not get: the word
//!   `spec` followed by `/` and a path the handout lacks, or by `section` or a section number,
//!   while the handout has no `spec/` folder ([`dangling_references`]). Each is reported with
//!   its file and line, and nothing is written; cite the lab's handout doc (`docs/lab3-raft.md`)
//!   or 6.5840's own name for the thing (6.5840 Lab 3B, `raft/test_test.go`) instead.
//! * **`--check`** builds the handout (`cargo build --all-targets`) to prove that the
//!   skeleton and its suites compile.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use ignore::WalkBuilder;

use crate::cargo::cargo_program;
use crate::output::absolute;
use crate::strip::{self, MarkerError};

/// The optional exclusion list at the source root.
pub const EXCLUDE_FILE: &str = ".handout-exclude";

/// The file that marks a folder as a generated handout.
pub const MARKER: &str = ".handout-generated";

/// The folder of files that replace the reference's in the handout (its README, Makefile):
/// `handout/README.md` becomes the handout's `README.md`.
pub const OVERLAY: &str = "handout/";

/// Why the handout cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum HandoutError {
    /// A file or folder cannot be read or written.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// Why it failed.
        source: std::io::Error,
    },
    /// Solution markers are wrong somewhere; nothing was written.
    #[error(
        "solution markers are wrong in {} place(s); nothing was written:\n{}\nFix the markers (see grading/src/strip.rs for the convention) and run again",
        errors.len(),
        errors.iter().map(|(path, e)| format!("  {}:{}: {}", path.display(), e.line, e.message())).collect::<Vec<_>>().join("\n")
    )]
    Markers {
        /// Each mistake, with its file (relative to the source root).
        errors: Vec<(PathBuf, MarkerError)>,
    },
    /// A stripped file does not format: its skeleton code is not valid Rust.
    #[error(
        "the stripped {} does not format with rustfmt: {message}\nThe skeleton left by its solution markers (and SOLUTION ELSE code) must be valid Rust; nothing was written",
        path.display()
    )]
    Format {
        /// The file, relative to the source root.
        path: PathBuf,
        /// What rustfmt said.
        message: String,
    },
    /// A `.rs` file is not UTF-8.
    #[error("{} is not UTF-8, so its solution regions cannot be stripped; nothing was written. Convert it to UTF-8", path.display())]
    NotUtf8 {
        /// The file.
        path: PathBuf,
    },
    /// A `.handout-exclude` line is not usable.
    #[error("{EXCLUDE_FILE} line {line}: {message}")]
    Exclude {
        /// The line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The `.handout-exclude` patterns are each valid but cannot be compiled together.
    #[error(
        "the {EXCLUDE_FILE} patterns cannot be compiled together ({message}); use fewer or simpler patterns"
    )]
    ExcludeSet {
        /// What globset said.
        message: String,
    },
    /// The destination is the source or contains it.
    #[error("the handout folder {} is the source tree or contains it; choose a folder outside {}", dest.display(), source_root.display())]
    DestinationOverlaps {
        /// The destination.
        dest: PathBuf,
        /// The source root.
        source_root: PathBuf,
    },
    /// The destination holds files that are not a previous handout.
    #[error("the handout folder {} is not empty and holds no {MARKER} file, so it is not a previous handout; choose an empty or new folder", dest.display())]
    DestinationNotEmpty {
        /// The destination.
        dest: PathBuf,
    },
    /// Walking the source tree failed.
    #[error("cannot list the files of {}: {source}; check that the tree is readable", root.display())]
    Walk {
        /// The source root.
        root: PathBuf,
        /// What the walk hit.
        source: ignore::Error,
    },
    /// git listed files but failed.
    #[error("`git ls-files` failed in {}: {message}", root.display())]
    Git {
        /// The source root.
        root: PathBuf,
        /// What git said.
        message: String,
    },
    /// The solution regions and the declared student files disagree.
    #[error(
        "the student files of grading/labs.toml and the files with solution regions disagree; nothing was written:\n{}",
        problems.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n")
    )]
    StudentFiles {
        /// Each disagreement.
        problems: Vec<String>,
    },
    /// Shipped files cite files the handout does not contain; nothing was written.
    #[error(
        "{} shipped file line(s) cite the developers' reference, which the handout does not contain; nothing was written:\n{}\nCite the lab's handout doc (docs/lab3-raft.md, docs/lab4-kvraft.md, ...) or 6.5840's own name for the thing (e.g. 6.5840 Lab 3B, `raft/test_test.go`) instead",
        found.len(),
        found.iter().map(|r| format!("  {}:{}: {} ({})", r.path.display(), r.line, r.excerpt, r.why)).collect::<Vec<_>>().join("\n")
    )]
    DanglingReferences {
        /// Each reference, with its file (relative to the source root) and line.
        found: Vec<DanglingReference>,
    },
    /// `--check` found that the handout does not build.
    #[error(
        "the handout in {} does not build (`cargo build --all-targets` exited with {status}); the compiler's messages are above. A solution region probably removed something the skeleton needs: add a SOLUTION ELSE part with a stub",
        dest.display()
    )]
    Check {
        /// The handout folder.
        dest: PathBuf,
        /// cargo's exit status.
        status: String,
    },
}

/// What `grade handout` was asked to do.
#[derive(Debug, Clone)]
pub struct HandoutOptions {
    /// The reference workspace.
    pub source: PathBuf,
    /// Where the handout goes.
    pub dest: PathBuf,
    /// Build the handout afterwards.
    pub check: bool,
    /// Pass `--offline` to that build.
    pub offline: bool,
}

/// What a handout contains.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HandoutSummary {
    /// Files written.
    pub files: usize,
    /// `.rs` files that had solution regions.
    pub stripped_files: usize,
    /// Solution regions removed.
    pub regions: usize,
    /// Files left out by `.handout-exclude`.
    pub excluded: usize,
    /// How the files were listed: `git` or `walk`.
    pub listing: &'static str,
}

/// What one file of the handout holds.
#[derive(Debug, Clone)]
pub enum Content {
    /// The source file as is (this path).
    Copy(PathBuf),
    /// This text (a `.rs` file with its solution regions stripped).
    Text(String),
}

impl Content {
    /// The file's bytes.
    pub fn bytes(&self) -> std::io::Result<Vec<u8>> {
        match self {
            Content::Copy(path) => std::fs::read(path),
            Content::Text(text) => Ok(text.clone().into_bytes()),
        }
    }
}

/// One file of the handout: its path relative to the root, and its content.
#[derive(Debug, Clone)]
pub struct HandoutFile {
    /// The path, relative to the root.
    pub relative: PathBuf,
    /// What it holds.
    pub content: Content,
}

/// Makes the handout.
pub fn make_handout(options: &HandoutOptions) -> Result<HandoutSummary, HandoutError> {
    let source =
        options.source.canonicalize().map_err(|e| io("cannot open the source tree", &options.source, e))?;
    let dest = absolute(&options.dest);
    if source.starts_with(&dest) {
        return Err(HandoutError::DestinationOverlaps { dest: options.dest.clone(), source_root: source });
    }
    let dest_inside = dest.strip_prefix(&source).ok().map(Path::to_path_buf);
    let (planned, mut summary) = plan(&source, dest_inside.as_deref())?;

    prepare_destination(&options.dest)?;
    for file in &planned {
        let target = options.dest.join(&file.relative);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io("cannot create", parent, e))?;
        }
        match &file.content {
            Content::Copy(from) => {
                std::fs::copy(from, &target).map_err(|e| io("cannot copy to", &target, e))?;
            }
            Content::Text(text) => {
                std::fs::write(&target, text).map_err(|e| io("cannot write", &target, e))?;
            }
        }
        summary.files += 1;
    }
    let marker = options.dest.join(MARKER);
    std::fs::write(
        &marker,
        "This folder was generated by `grade handout` (distlab); the next `grade handout` into it \
         replaces everything here except .git.\n",
    )
    .map_err(|e| io("cannot write", &marker, e))?;

    if options.check {
        check(&source, &options.dest, options.offline)?;
    }
    Ok(summary)
}

/// Formats a stripped file as `cargo fmt` would (the source's `rustfmt.toml`), so that the
/// skeleton passes `make lint` as handed out.
fn rustfmt(source: &Path, relative: &Path, text: &str) -> Result<String, HandoutError> {
    use std::io::Write as _;
    let mut command = Command::new("rustfmt");
    command.args(["--edition", "2024", "--emit", "stdout", "--quiet"]);
    if source.join("rustfmt.toml").is_file() {
        command.arg("--config-path").arg(source.join("rustfmt.toml"));
    }
    let child = command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn();
    let mut child = child.map_err(|e| HandoutError::Format {
        path: relative.to_path_buf(),
        message: format!("cannot run rustfmt ({e}); install it with `rustup component add rustfmt`"),
    })?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let input = text.to_string();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().map_err(|e| io("cannot run rustfmt on", relative, e))?;
    let _ = writer.join();
    if !out.status.success() {
        return Err(HandoutError::Format {
            path: relative.to_path_buf(),
            message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    String::from_utf8(out.stdout).map_err(|_| HandoutError::NotUtf8 { path: relative.to_path_buf() })
}

/// The handout of the tree at `source` (canonical), in memory: every file it will hold, read
/// and stripped, with nothing written. Files under `skip` (relative to `source`: a handout
/// folder inside the tree) are left out. When the tree has a `grading/labs.toml`
/// ([`crate::labs`]), checks that the files with solution regions are student files there.
pub fn plan(source: &Path, skip: Option<&Path>) -> Result<(Vec<HandoutFile>, HandoutSummary), HandoutError> {
    let (files, listing) = list_files(source)?;
    let excludes = read_excludes(source)?;

    let mut summary = HandoutSummary { listing, ..HandoutSummary::default() };
    let mut planned: Vec<HandoutFile> = Vec::new();
    let mut overlays: Vec<HandoutFile> = Vec::new();
    let mut marker_errors = Vec::new();
    let mut with_regions = Vec::new();
    for relative in files {
        let text = relative.to_string_lossy().replace('\\', "/");
        if text == EXCLUDE_FILE || text == MARKER {
            continue;
        }
        if let Some(inside) = text.strip_prefix(OVERLAY) {
            overlays.push(HandoutFile {
                relative: PathBuf::from(inside),
                content: Content::Copy(source.join(&relative)),
            });
            continue;
        }
        if skip.is_some_and(|d| relative.starts_with(d)) {
            continue;
        }
        if excludes.matches(&text) {
            summary.excluded += 1;
            continue;
        }
        let path = source.join(&relative);
        if relative.extension().is_some_and(|e| e == "rs") {
            let bytes = std::fs::read(&path).map_err(|e| io("cannot read", &path, e))?;
            let content =
                String::from_utf8(bytes).map_err(|_| HandoutError::NotUtf8 { path: relative.clone() })?;
            match strip::strip(&content) {
                Ok(stripped) => {
                    let content = if stripped.regions > 0 {
                        summary.stripped_files += 1;
                        summary.regions += stripped.regions;
                        with_regions.push(text.clone());
                        rustfmt(source, &relative, &stripped.text)?
                    } else {
                        stripped.text
                    };
                    planned.push(HandoutFile { relative, content: Content::Text(content) });
                }
                Err(errors) => {
                    marker_errors.extend(errors.into_iter().map(|e| (relative.clone(), e)));
                }
            }
        } else {
            planned.push(HandoutFile { relative, content: Content::Copy(path) });
        }
    }
    if !marker_errors.is_empty() {
        return Err(HandoutError::Markers { errors: marker_errors });
    }
    for overlay in overlays {
        match planned.iter_mut().find(|f| f.relative == overlay.relative) {
            Some(file) => *file = overlay,
            None => planned.push(overlay),
        }
    }
    check_references(&planned)?;
    let declaration = source.join(LABS_FILE);
    if declaration.is_file() {
        let text = std::fs::read_to_string(&declaration).map_err(|e| io("cannot read", &declaration, e))?;
        let labs = crate::labs::Labs::parse(&text)
            .map_err(|e| HandoutError::StudentFiles { problems: vec![e.to_string()] })?;
        check_student_files(&labs, &planned, &with_regions)?;
    }
    Ok((planned, summary))
}

/// The labs' declaration, relative to a tree's root (checked when the tree has one).
pub const LABS_FILE: &str = "grading/labs.toml";

/// The files with solution regions must be student files, and every student file of a lab
/// whose crate is in the tree must be there: else students get stubs the grader will not take
/// from them, or the grader looks for files they were never given.
fn check_student_files(
    labs: &crate::labs::Labs,
    planned: &[HandoutFile],
    with_regions: &[String],
) -> Result<(), HandoutError> {
    let present: std::collections::BTreeSet<String> =
        planned.iter().map(|f| f.relative.to_string_lossy().replace('\\', "/")).collect();
    let mut problems = Vec::new();
    for file in with_regions {
        if labs.owner_of(file).is_none() {
            problems.push(format!(
                "{file} has solution regions but is not a student file of any lab in grading/labs.toml: \
                 declare it there (the grader copies only declared files from a submission)"
            ));
        }
    }
    for lab in &labs.labs {
        let crate_here = present.iter().any(|p| p.starts_with(&format!("{}/", lab.krate)));
        for file in &lab.files {
            if crate_here && !present.contains(file) {
                problems.push(format!(
                    "{file} is a student file of {} in grading/labs.toml but is not in the tree",
                    lab.title()
                ));
            }
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(HandoutError::StudentFiles { problems }) }
}

/// A line of a shipped file that cites a file the handout does not contain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DanglingReference {
    /// The file, relative to the root.
    pub path: PathBuf,
    /// The line (from 1).
    pub line: usize,
    /// The words that cite it.
    pub excerpt: String,
    /// Why it does not resolve.
    pub why: String,
}

/// The word that starts a citation of the developers' reference (built here so that this file
/// does not cite it itself).
const SPEC: &str = "spec";

/// The citations of the developers' reference in `text` that do not resolve in a handout
/// whose files (relative, `/`-separated) `has` says it holds, as (line, excerpt, why): the
/// word [`SPEC`] followed by `/` and a path the handout has no file or folder at, or followed
/// (also across a line break) by `section`, `sections` or a section number when the handout
/// has no such folder at all.
pub fn dangling_references(text: &str, has: &dyn Fn(&str) -> bool) -> Vec<(usize, String, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        for (at, _) in line.match_indices(SPEC) {
            let before = line[..at].chars().next_back();
            let rest = &line[at + SPEC.len()..];
            let after = rest.chars().next();
            let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '-');
            if word(before) || (word(after) && after != Some('-')) {
                continue;
            }
            if let Some(path) = rest.strip_prefix('/') {
                let end = path
                    .find(|c: char| c.is_whitespace() || "`'\"()[]<>,;:".contains(c))
                    .unwrap_or(path.len());
                let cited = path[..end].trim_end_matches(['.', '/']);
                let path = format!("{SPEC}/{cited}");
                // A bare folder name is no citation of a file.
                if !cited.is_empty() && !has(&path) {
                    found.push((index + 1, path.clone(), format!("the handout has no {path}")));
                }
                continue;
            }
            let mut next = rest.trim_start();
            if next.is_empty() {
                // The citation may go on on the next line of the comment.
                let following = lines.get(index + 1).map_or("", |l| l.trim_start());
                next = following.trim_start_matches(['/', '!', '#', '*']).trim_start();
            }
            if (next.starts_with("section") || next.starts_with(|c: char| c.is_ascii_digit()))
                && !has(&format!("{SPEC}/"))
            {
                let words = if next.starts_with("section") { 2 } else { 1 };
                let cited: String = next.split_whitespace().take(words).collect::<Vec<_>>().join(" ");
                let cited = cited.trim_end_matches([')', ',', ';', ':', '.']);
                found.push((
                    index + 1,
                    format!("{SPEC} {cited}"),
                    format!("a section of the developers' reference; the handout has no {SPEC}/ folder"),
                ));
            }
        }
    }
    found
}

/// The files a handout may not ship with dangling citations: its text files.
fn is_checked_text(relative: &Path) -> bool {
    let name = relative.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    name == "Makefile"
        || relative.extension().is_some_and(|e| ["rs", "md", "txt", "toml"].iter().any(|x| e == *x))
}

/// Fails when a text file of the handout cites a file the handout does not contain.
fn check_references(planned: &[HandoutFile]) -> Result<(), HandoutError> {
    let files: std::collections::BTreeSet<String> =
        planned.iter().map(|f| f.relative.to_string_lossy().replace('\\', "/")).collect();
    let has = |path: &str| {
        let dir = format!("{}/", path.trim_end_matches('/'));
        files.contains(path) || files.iter().any(|f| f.starts_with(&dir))
    };
    let mut found = Vec::new();
    for file in planned.iter().filter(|f| is_checked_text(&f.relative)) {
        let text = match &file.content {
            Content::Text(text) => text.clone(),
            Content::Copy(path) => match std::fs::read(path) {
                Ok(bytes) => match String::from_utf8(bytes) {
                    Ok(text) => text,
                    Err(_) => continue,
                },
                Err(e) => return Err(io("cannot read", path, e)),
            },
        };
        for (line, excerpt, why) in dangling_references(&text, &has) {
            found.push(DanglingReference { path: file.relative.clone(), line, excerpt, why });
        }
    }
    if found.is_empty() { Ok(()) } else { Err(HandoutError::DanglingReferences { found }) }
}

/// Shorthand for [`HandoutError::Io`].
fn io(action: &'static str, path: &Path, source: std::io::Error) -> HandoutError {
    HandoutError::Io { action, path: path.to_path_buf(), source }
}

/// Lists the files of the source tree, relative to it, sorted.
fn list_files(root: &Path) -> Result<(Vec<PathBuf>, &'static str), HandoutError> {
    if let Some(files) = git_files(root)? {
        return Ok((files, "git"));
    }
    let mut files = walk(root)?;
    files.sort();
    Ok((files, "walk"))
}

/// The files git lists, or `None` when git is unusable here (no git, or `root` is not the
/// top of a repository) or lists nothing.
fn git_files(root: &Path) -> Result<Option<Vec<PathBuf>>, HandoutError> {
    let top = Command::new("git")
        .args(["rev-parse", "--show-toplevel"])
        .current_dir(root)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output();
    let Ok(top) = top else { return Ok(None) };
    if !top.status.success() {
        return Ok(None);
    }
    let top = PathBuf::from(String::from_utf8_lossy(&top.stdout).trim());
    if top.canonicalize().ok().as_deref() != Some(root) {
        return Ok(None);
    }
    let listed = Command::new("git")
        .args(["ls-files", "-z", "--cached", "--others", "--exclude-standard"])
        .current_dir(root)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| HandoutError::Git { root: root.to_path_buf(), message: e.to_string() })?;
    if !listed.status.success() {
        return Err(HandoutError::Git {
            root: root.to_path_buf(),
            message: String::from_utf8_lossy(&listed.stderr).trim().to_string(),
        });
    }
    let mut files: Vec<PathBuf> = listed
        .stdout
        .split(|b| *b == 0)
        .filter(|name| !name.is_empty())
        .map(|name| PathBuf::from(String::from_utf8_lossy(name).into_owned()))
        // Tracked but deleted files, and submodules (directories), are not copied.
        .filter(|relative| root.join(relative).is_file())
        .collect();
    files.sort();
    files.dedup();
    Ok(if files.is_empty() { None } else { Some(files) })
}

/// The files under `root`, relative to it: every file (or symbolic link to a file), hidden
/// or ignored ones included, outside `target` and `.git` directories and not behind a
/// symbolic link to a directory.
fn walk(root: &Path) -> Result<Vec<PathBuf>, HandoutError> {
    let walker = WalkBuilder::new(root)
        .standard_filters(false)
        .follow_links(false)
        .filter_entry(|entry| {
            let skipped_dir = entry.file_type().is_some_and(|t| t.is_dir())
                && (entry.file_name() == "target" || entry.file_name() == ".git");
            entry.depth() == 0 || !skipped_dir
        })
        .build();
    let mut files = Vec::new();
    for entry in walker {
        let entry = entry.map_err(|source| HandoutError::Walk { root: root.to_path_buf(), source })?;
        // `is_file` follows a symbolic link, as the copy will.
        if entry.file_type().is_some_and(|t| !t.is_dir()) && entry.path().is_file() {
            let relative = entry.path().strip_prefix(root).unwrap_or(entry.path());
            files.push(relative.to_path_buf());
        }
    }
    Ok(files)
}

/// The `.handout-exclude` patterns (see the module documentation for their syntax).
#[derive(Debug, Clone)]
pub struct Excludes {
    /// One glob per pattern line.
    set: GlobSet,
}

impl Excludes {
    /// Parses the text of a `.handout-exclude` file; an error names the first bad line.
    pub fn parse(text: &str) -> Result<Excludes, HandoutError> {
        let mut set = GlobSetBuilder::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = |message: String| HandoutError::Exclude { line: index + 1, message };
            let pattern = line.trim_start_matches('/').trim_end_matches('/');
            if pattern.is_empty() {
                return Err(bad(format!("`{line}` would exclude everything")));
            }
            let glob = GlobBuilder::new(pattern)
                .literal_separator(true)
                .backslash_escape(true)
                .build()
                .map_err(|e| bad(format!("`{line}` is not a valid pattern: {}", e.kind())))?;
            set.add(glob);
        }
        let set = set.build().map_err(|e| HandoutError::ExcludeSet { message: e.to_string() })?;
        Ok(Excludes { set })
    }

    /// True when no pattern was given.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }

    /// Does it exclude the file at `path` (relative, `/`-separated)? A pattern excludes the
    /// paths it matches and everything under a directory it matches.
    pub fn matches(&self, path: &str) -> bool {
        self.set.is_match(path) || path.match_indices('/').any(|(i, _)| self.set.is_match(&path[..i]))
    }
}

/// Reads `.handout-exclude` (none: no patterns).
fn read_excludes(root: &Path) -> Result<Excludes, HandoutError> {
    let path = root.join(EXCLUDE_FILE);
    if !path.exists() {
        return Excludes::parse("");
    }
    let text = std::fs::read_to_string(&path).map_err(|e| io("cannot read", &path, e))?;
    Excludes::parse(&text)
}

/// Empties the destination if it is a previous handout (keeping `.git`), or creates it.
fn prepare_destination(dest: &Path) -> Result<(), HandoutError> {
    if !dest.exists() {
        return std::fs::create_dir_all(dest).map_err(|e| io("cannot create", dest, e));
    }
    let entries: Vec<_> = std::fs::read_dir(dest)
        .map_err(|e| io("cannot list", dest, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| io("cannot list", dest, e))?;
    if entries.is_empty() {
        return Ok(());
    }
    if !dest.join(MARKER).is_file() {
        return Err(HandoutError::DestinationNotEmpty { dest: dest.to_path_buf() });
    }
    for entry in entries {
        if entry.file_name() == ".git" {
            continue;
        }
        let path = entry.path();
        let removed = if path.is_dir() && !path.is_symlink() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        removed.map_err(|e| io("cannot remove", &path, e))?;
    }
    Ok(())
}

/// Builds the handout: `cargo build --all-targets` in `dest`. Build output goes to
/// `$CARGO_TARGET_DIR` or `<source>/target/handout-check`, so that repeated checks reuse
/// compiled dependencies and the handout folder stays clean.
fn check(source: &Path, dest: &Path, offline: bool) -> Result<(), HandoutError> {
    let mut command = Command::new(cargo_program());
    command.args(["build", "--all-targets"]).current_dir(dest).stdin(Stdio::null());
    if offline {
        command.arg("--offline");
    }
    if std::env::var_os("CARGO_TARGET_DIR").is_none() {
        command.env("CARGO_TARGET_DIR", source.join("target").join("handout-check"));
    }
    let status = command.status().map_err(|e| io("cannot run cargo in", dest, e))?;
    if status.success() {
        Ok(())
    } else {
        Err(HandoutError::Check { dest: dest.to_path_buf(), status: status.to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(p: &str) -> Excludes {
        Excludes::parse(p).unwrap()
    }

    #[test]
    fn exclude_patterns() {
        assert!(pattern("notes.md").matches("notes.md"));
        assert!(!pattern("notes.md").matches("raft/notes.md"));
        assert!(pattern("raft/tests/reference").matches("raft/tests/reference/a.rs"));
        assert!(pattern("/raft/tests/reference/").matches("raft/tests/reference/x/b.rs"));
        assert!(!pattern("raft/tests/ref").matches("raft/tests/reference/a.rs"));
        assert!(pattern("*/answers_*.rs").matches("kvraft/answers_4a.rs"));
        assert!(!pattern("*/answers_*.rs").matches("kvraft/src/answers_4a.rs"));
        assert!(pattern("**/answers_*.rs").matches("kvraft/src/answers_4a.rs"));
        assert!(pattern("**/answers_*.rs").matches("answers_4a.rs"));
        assert!(pattern("raft/**/secret.rs").matches("raft/a/b/secret.rs"));
        assert!(pattern("raft/**/secret.rs").matches("raft/secret.rs"));
        assert!(pattern("raft/**").matches("raft/a/b.rs"));
        assert!(pattern("ra?t").matches("raft/src/lib.rs"));
        assert!(!pattern("raft?src").matches("raft/src"));
        assert!(pattern("*.md").matches("README.md"));
        assert!(!pattern("*.md").matches("docs/lab3.md"));
        assert!(pattern(".git*").matches(".gitignore"));
        assert!(pattern("# comment\n\n  notes.md  \n").matches("notes.md"));
        assert!(Excludes::parse("# comment").unwrap().is_empty());
        assert!(Excludes::parse("   ").unwrap().is_empty());
    }

    /// What [`dangling_references`] finds in `text`, in a handout of `files`.
    fn dangling(text: &str, files: &[&str]) -> Vec<(usize, String)> {
        let has = |p: &str| {
            let dir = format!("{}/", p.trim_end_matches('/'));
            files.iter().any(|f| *f == p || f.starts_with(&dir))
        };
        dangling_references(text, &has).into_iter().map(|(line, excerpt, _)| (line, excerpt)).collect()
    }

    #[test]
    fn citations_of_a_missing_reference_are_found_with_their_line() {
        let text = format!(
            "//! Lab 3A: leader election ({SPEC} section 3.3).\n\
             //! See {SPEC}/6824-reference.md and ({SPEC} 4.6: rsm).\n\
             # Porcupine ({SPEC}\n\
             # sections 6.1-6.3) and the {SPEC}s of a Group, a kv_{SPEC}, a {SPEC}-like thing.\n"
        );
        assert_eq!(
            dangling(&text, &["docs/lab3-raft.md"]),
            vec![
                (1, format!("{SPEC} section 3.3")),
                (2, format!("{SPEC}/6824-reference.md")),
                (2, format!("{SPEC} 4.6")),
                (3, format!("{SPEC} sections 6.1-6.3")),
            ]
        );
        // A reference the handout holds resolves; sections resolve when it has the folder.
        assert_eq!(dangling(&text, &[format!("{SPEC}/6824-reference.md").as_str()]), vec![]);
        assert_eq!(
            dangling(
                &format!("{SPEC}/a.md, ({SPEC}/b.md), the {SPEC}/ folder."),
                &[format!("{SPEC}/a.md").as_str()]
            ),
            vec![(1, format!("{SPEC}/b.md"))]
        );
        // The handout docs and 6.5840's names are what to cite instead.
        assert_eq!(dangling("(docs/lab3-raft.md; 6.5840 Lab 3B, `raft/test_test.go`)", &[]), vec![]);
    }

    #[test]
    fn a_handout_that_cites_a_missing_reference_is_not_written() {
        let root = std::env::temp_dir().join(format!("grade-handout-refs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("docs")).unwrap();
        std::fs::create_dir_all(root.join("src")).unwrap();
        std::fs::write(root.join("docs/lab.md"), "# Lab\n\nRead the lab.\n").unwrap();
        std::fs::write(root.join("src/lib.rs"), format!("//! A lab.\n//! Its rules ({SPEC} section 3).\n"))
            .unwrap();
        std::fs::write(root.join("notes.txt"), format!("a\nb\nsee {SPEC}/ref.md\n")).unwrap();
        let source = root.canonicalize().unwrap();
        let err = plan(&source, None).unwrap_err();
        let HandoutError::DanglingReferences { found } = &err else { panic!("{err}") };
        let at: Vec<(String, usize)> =
            found.iter().map(|r| (r.path.to_string_lossy().replace('\\', "/"), r.line)).collect();
        assert_eq!(at, vec![("notes.txt".to_string(), 3), ("src/lib.rs".to_string(), 2)]);
        let message = err.to_string();
        assert!(message.contains(&format!("src/lib.rs:2: {SPEC} section 3 (")), "{message}");
        assert!(message.contains(&format!("notes.txt:3: {SPEC}/ref.md (the handout has no")), "{message}");
        assert!(message.contains("docs/lab3-raft.md"), "{message}");
        // Once the handout holds what they cite, it is made.
        std::fs::create_dir_all(root.join(SPEC)).unwrap();
        std::fs::write(root.join(SPEC).join("ref.md"), "the reference\n").unwrap();
        assert!(plan(&source, None).is_ok());
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn bad_exclude_lines_are_named() {
        let err = Excludes::parse("ok.md\n/\n").unwrap_err().to_string();
        assert_eq!(err, ".handout-exclude line 2: `/` would exclude everything");
        let err = Excludes::parse("# x\nsrc/[ab.rs\n").unwrap_err().to_string();
        assert!(err.starts_with(".handout-exclude line 2: `src/[ab.rs` is not a valid pattern"), "{err}");
    }

    #[test]
    fn walk_lists_files_but_not_target_git_or_linked_directories() {
        let root = std::env::temp_dir().join(format!("grade-handout-walk-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        for file in [
            ".hidden/a",
            "src/lib.rs",
            "src/target.rs",
            "sub/target/x",
            ".git/HEAD",
            "target/y",
            "ignored.txt",
        ] {
            let path = root.join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "x").unwrap();
        }
        std::fs::write(root.join(".gitignore"), "ignored.txt\nsrc/\n").unwrap();
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(root.join("src"), root.join("linked-dir")).unwrap();
            std::os::unix::fs::symlink(root.join("src/lib.rs"), root.join("linked-file.rs")).unwrap();
            std::os::unix::fs::symlink(root.join("missing"), root.join("dangling")).unwrap();
        }
        let mut files: Vec<String> =
            walk(&root).unwrap().iter().map(|p| p.to_string_lossy().replace('\\', "/")).collect();
        files.sort();
        let mut expected = vec![".gitignore", ".hidden/a", "ignored.txt", "src/lib.rs", "src/target.rs"];
        if cfg!(unix) {
            expected.push("linked-file.rs");
        }
        expected.sort();
        assert_eq!(files, expected);
        let _ = std::fs::remove_dir_all(&root);
    }
}
