//! A simulated file system: one per world, shared by all of its nodes, as the machines of a
//! MapReduce cluster share a file system.
//!
//! Lab code takes files only from here (`clippy.toml` forbids `std::fs`), for the same reason it
//! takes threads and time from `labs`: a seed must replay the run, and the tester must see and
//! shape what happens. The semantics are those of a local POSIX file system, kept small:
//!
//! * [`create`] makes a file, or truncates an existing one (`os.Create`), and gives a [`File`]
//!   handle that writes at its own offset; [`create_temp`] makes a new file with a unique name
//!   (`os.CreateTemp`); [`write`] is `create` plus one write, and is **not** atomic.
//! * [`read`], [`read_to_string`], [`list`] (the files directly in a directory, sorted),
//!   [`exists`], [`remove`], and [`rename`], which atomically replaces its target: a reader sees
//!   the old file or the new one, never a mix. Directories are implicit: a path `a/b` puts
//!   file `b` in directory `a`.
//! * What a node wrote stays when the node dies. A file it was writing stays as it was, half
//!   written if so, and a temporary it never renamed stays as garbage: that is what makes the
//!   write-then-rename lesson of Lab 1 testable.
//!
//! Every call is a scheduling point under sim (so a crash or another node can come between two
//! calls, but never inside one) and the store is in memory under both backends: a run leaves
//! nothing on the disk, and a world's files vanish with it.
//!
//! For testers: [`set_fault_hook`] runs a function before each call, on the calling thread, to
//! crash the calling node or stall it (a slow disk) at a chosen point; [`watch`] and
//! [`journal`] record every change to chosen paths, with the node and the time; [`snapshot`]
//! reads many files at one instant.

use crate::context::{self, WorldInner, quiet_now};
use crate::events::{self, EventKind};
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Why a file-system call failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FsError {
    /// No file has this path.
    #[error("no such file: {path}")]
    NotFound {
        /// The path asked for (normalized).
        path: String,
    },
    /// The path cannot name a file.
    #[error("'{path}' is not a file path: {why}")]
    InvalidPath {
        /// The path as given.
        path: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// The file is not valid UTF-8 (from [`read_to_string`]).
    #[error("{path} is not UTF-8 text")]
    NotText {
        /// The file's path.
        path: String,
    },
    /// The call was made outside any world.
    #[error(
        "labs::fs was used outside a labs world: the file system belongs to a world (wrap the code in labs::lab_test! or World::builder().run(..))"
    )]
    OutsideWorld,
}

/// A file-system call, as a fault hook sees it (see [`set_fault_hook`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Call<'a> {
    /// What the call does.
    pub op: Op,
    /// The path it acts on (normalized); for a rename, the source.
    pub path: &'a str,
    /// A rename's target.
    pub to: Option<&'a str>,
    /// Bytes a write writes (0 for other calls).
    pub len: usize,
}

/// The kinds of file-system calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// [`create`], [`create_temp`], or the first half of [`write`].
    Create,
    /// A [`File`] write, or the second half of [`write`].
    Write,
    /// [`read`] or [`read_to_string`].
    Read,
    /// [`list`].
    List,
    /// [`remove`].
    Remove,
    /// [`rename`].
    Rename,
}

/// A change to a watched path, in the [`journal`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// When (the world's clock, ns).
    pub t: u64,
    /// The node that made it.
    pub node: String,
    /// The watched path that changed.
    pub path: String,
    /// What happened to it.
    pub kind: ChangeKind,
    /// Its size afterwards, `None` if it no longer exists.
    pub size: Option<u64>,
}

/// What happened to a watched path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    /// Created empty, or truncated.
    Created,
    /// Written through a handle (in place).
    Written,
    /// Replaced, atomically, by the file that was at this path.
    RenamedFrom(String),
    /// Moved away to this path.
    RenamedTo(String),
    /// Removed.
    Removed,
}

type Hook = dyn Fn(&Call<'_>) + Send + Sync;

/// One world's files. A leaf of the runtime: the world's state holds it, and it takes no
/// runtime call itself (the functions of this module yield before they use it).
#[derive(Default)]
pub(crate) struct Store {
    tree: Mutex<Tree>,
    hook: Mutex<Option<Arc<Hook>>>,
}

#[derive(Default)]
struct Tree {
    /// Path -> inode.
    names: BTreeMap<String, u64>,
    inodes: BTreeMap<u64, Inode>,
    next_inode: u64,
    next_temp: u64,
    watches: Vec<String>,
    journal: Vec<Change>,
}

#[derive(Default)]
struct Inode {
    data: Vec<u8>,
    /// Names that refer to it.
    links: usize,
    /// Open handles.
    handles: usize,
}

impl Tree {
    fn watched(&self, path: &str) -> bool {
        self.watches.iter().any(|w| path.starts_with(w.as_str()))
    }

    fn note(&mut self, node: &str, path: &str, kind: ChangeKind) {
        if self.watched(path) {
            let size = self.names.get(path).and_then(|i| self.inodes.get(i)).map(|n| n.data.len() as u64);
            let change =
                Change { t: quiet_now(), node: node.to_string(), path: path.to_string(), kind, size };
            self.journal.push(change);
        }
    }

    /// Drops the name `path`, and its inode if nothing else holds it.
    fn unlink(&mut self, path: &str) -> Option<u64> {
        let ino = self.names.remove(path)?;
        let gone = match self.inodes.get_mut(&ino) {
            Some(n) => {
                n.links -= 1;
                n.links == 0 && n.handles == 0
            }
            None => false,
        };
        if gone {
            self.inodes.remove(&ino);
        }
        Some(ino)
    }

    /// Creates `path` empty, or truncates it; returns its inode with one more handle.
    fn create(&mut self, path: &str) -> u64 {
        let ino = match self.names.get(path) {
            Some(&ino) => {
                let n = self.inodes.get_mut(&ino).expect("a named inode exists");
                n.data.clear();
                ino
            }
            None => {
                let ino = self.next_inode;
                self.next_inode += 1;
                self.inodes.insert(ino, Inode { links: 1, ..Inode::default() });
                self.names.insert(path.to_string(), ino);
                ino
            }
        };
        self.inodes.get_mut(&ino).expect("just made").handles += 1;
        ino
    }
}

/// An open file, for writing. Each handle writes at its own offset (which starts at 0), as a
/// file descriptor does; it keeps writing to the same file if the file is renamed or removed.
pub struct File {
    world: Arc<WorldInner>,
    ino: u64,
    path: String,
    pos: usize,
}

impl std::fmt::Debug for File {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("File").field("path", &self.path).field("pos", &self.pos).finish()
    }
}

impl File {
    /// The path the file was created with.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Writes all of `buf` at the handle's offset, extending the file as needed. One call,
    /// one scheduling point: a crash can come between two writes, never inside one.
    pub fn write_all(&mut self, buf: &[u8]) -> Result<(), FsError> {
        enter(&self.world, &Call { op: Op::Write, path: &self.path, to: None, len: buf.len() });
        crate::time::charge_bytes(buf.len());
        let node = node_name();
        let mut t = self.world.fs.tree.lock();
        let data = &mut t.inodes.get_mut(&self.ino).expect("an open file's inode exists").data;
        let end = self.pos + buf.len();
        if data.len() < end {
            data.resize(end, 0);
        }
        data[self.pos..end].copy_from_slice(buf);
        self.pos = end;
        // Journal the write under every watched name the file has now.
        let names: Vec<String> =
            t.names.iter().filter(|&(p, &i)| i == self.ino && t.watched(p)).map(|(p, _)| p.clone()).collect();
        for p in names {
            t.note(&node, &p, ChangeKind::Written);
        }
        Ok(())
    }
}

impl std::io::Write for File {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.write_all(buf).map_err(std::io::Error::other)?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for File {
    fn drop(&mut self) {
        // No runtime call: a killed node's handles drop while its threads unwind.
        let mut t = self.world.fs.tree.lock();
        let gone = match t.inodes.get_mut(&self.ino) {
            Some(n) => {
                n.handles -= 1;
                n.links == 0 && n.handles == 0
            }
            None => false,
        };
        if gone {
            t.inodes.remove(&self.ino);
        }
    }
}

/// The calling thread's world, or [`FsError::OutsideWorld`].
fn world() -> Result<Arc<WorldInner>, FsError> {
    context::world().ok_or(FsError::OutsideWorld)
}

/// The calling node's name, for the journal and the events.
fn node_name() -> String {
    context::spawn_node().map(|n| n.name().to_string()).unwrap_or_else(|| "outside".into())
}

/// What every call does first: runs the fault hook (which may stall or crash the caller), then
/// gives the scheduler a chance to run someone else.
fn enter(world: &WorldInner, call: &Call<'_>) {
    let hook = world.fs.hook.lock().clone();
    if let Some(h) = hook {
        h(call);
    }
    context::yield_point();
}

/// Normalizes a relative path: `./a//b` is `a/b`. A leading `/` is ignored; `..` and an empty
/// path are errors.
fn normalize(path: &str) -> Result<String, FsError> {
    let mut parts = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => return Err(FsError::InvalidPath { path: path.into(), why: "'..' is not supported" }),
            c => parts.push(c),
        }
    }
    if parts.is_empty() {
        return Err(FsError::InvalidPath { path: path.into(), why: "it names no file" });
    }
    Ok(parts.join("/"))
}

/// Normalizes a directory path: as [`normalize`], but empty (or `.`) is the root, `""`.
fn normalize_dir(dir: &str) -> Result<String, FsError> {
    if dir.split('/').all(|c| c.is_empty() || c == ".") { Ok(String::new()) } else { normalize(dir) }
}

/// Records a change of the file system in the run's events, as a line of the calling node.
fn event(text: String) {
    events::record(EventKind::Log { level: "DEBUG".into(), target: "labs::fs".into(), message: text });
}

/// Creates the file `path`, or truncates it if it exists (Go's `os.Create`), and opens it for
/// writing.
pub fn create(path: &str) -> Result<File, FsError> {
    let world = world()?;
    let path = normalize(path)?;
    enter(&world, &Call { op: Op::Create, path: &path, to: None, len: 0 });
    let node = node_name();
    let ino = {
        let mut t = world.fs.tree.lock();
        let ino = t.create(&path);
        t.note(&node, &path, ChangeKind::Created);
        ino
    };
    event(format!("create {path}"));
    Ok(File { world, ino, path, pos: 0 })
}

/// Creates a new, empty file in `dir` whose name is `pattern` with its last `*` replaced by a
/// string that makes it unique (or with that string appended, if there is no `*`), as Go's
/// `os.CreateTemp`; opens it for writing. [`File::path`] tells its path.
pub fn create_temp(dir: &str, pattern: &str) -> Result<File, FsError> {
    let world = world()?;
    let dir = normalize_dir(dir)?;
    if pattern.contains('/') {
        return Err(FsError::InvalidPath {
            path: pattern.into(),
            why: "a temporary file's pattern has no '/'",
        });
    }
    let name = |n: u64| {
        let unique = format!("{n:06}");
        let name = match pattern.rfind('*') {
            Some(i) => format!("{}{unique}{}", &pattern[..i], &pattern[i + 1..]),
            None => format!("{pattern}{unique}"),
        };
        if dir.is_empty() { name } else { format!("{dir}/{name}") }
    };
    let first = name(world.fs.tree.lock().next_temp);
    enter(&world, &Call { op: Op::Create, path: &first, to: None, len: 0 });
    let node = node_name();
    let (ino, path) = {
        let mut t = world.fs.tree.lock();
        let path = loop {
            let path = name(t.next_temp);
            t.next_temp += 1;
            if !t.names.contains_key(&path) {
                break path;
            }
        };
        let ino = t.create(&path);
        t.note(&node, &path, ChangeKind::Created);
        (ino, path)
    };
    event(format!("create {path}"));
    Ok(File { world, ino, path, pos: 0 })
}

/// Creates or truncates `path` and writes `data` to it: two calls, so **not** atomic (a crash
/// between them leaves the file empty). Write a temporary file and [`rename`] it for that.
pub fn write(path: &str, data: &[u8]) -> Result<(), FsError> {
    create(path)?.write_all(data)
}

/// The whole contents of the file `path`.
pub fn read(path: &str) -> Result<Vec<u8>, FsError> {
    let world = world()?;
    let path = normalize(path)?;
    enter(&world, &Call { op: Op::Read, path: &path, to: None, len: 0 });
    let t = world.fs.tree.lock();
    let data = match t.names.get(&path) {
        Some(ino) => t.inodes[ino].data.clone(),
        None => return Err(FsError::NotFound { path }),
    };
    drop(t);
    crate::time::charge_bytes(data.len());
    Ok(data)
}

/// The whole contents of the file `path`, as text.
pub fn read_to_string(path: &str) -> Result<String, FsError> {
    let bytes = read(path)?;
    String::from_utf8(bytes).map_err(|_| FsError::NotText { path: path.to_string() })
}

/// The names of the files directly in the directory `dir` (`""` or `"."` is the root), sorted.
/// A directory with no files is empty, not an error.
pub fn list(dir: &str) -> Result<Vec<String>, FsError> {
    let world = world()?;
    let dir = normalize_dir(dir)?;
    enter(&world, &Call { op: Op::List, path: &dir, to: None, len: 0 });
    let t = world.fs.tree.lock();
    let names = t
        .names
        .keys()
        .filter_map(|p| match p.rsplit_once('/') {
            Some((d, name)) if d == dir => Some(name.to_string()),
            None if dir.is_empty() => Some(p.clone()),
            _ => None,
        })
        .collect();
    Ok(names)
}

/// Whether the file `path` exists.
pub fn exists(path: &str) -> bool {
    let Ok(world) = world() else { return false };
    let Ok(path) = normalize(path) else { return false };
    context::yield_point();
    world.fs.tree.lock().names.contains_key(&path)
}

/// Removes the file `path`. Handles open on it keep writing to the (now nameless) file.
pub fn remove(path: &str) -> Result<(), FsError> {
    let world = world()?;
    let path = normalize(path)?;
    enter(&world, &Call { op: Op::Remove, path: &path, to: None, len: 0 });
    let node = node_name();
    {
        let mut t = world.fs.tree.lock();
        if t.unlink(&path).is_none() {
            return Err(FsError::NotFound { path });
        }
        t.note(&node, &path, ChangeKind::Removed);
    }
    event(format!("remove {path}"));
    Ok(())
}

/// Renames `from` to `to`, atomically replacing any file at `to`: whoever reads `to` sees the
/// old file or the whole new one, never a mix (POSIX `rename`).
pub fn rename(from: &str, to: &str) -> Result<(), FsError> {
    let world = world()?;
    let from = normalize(from)?;
    let to = normalize(to)?;
    enter(&world, &Call { op: Op::Rename, path: &from, to: Some(&to), len: 0 });
    if from == to {
        return if world.fs.tree.lock().names.contains_key(&from) {
            Ok(())
        } else {
            Err(FsError::NotFound { path: from })
        };
    }
    let node = node_name();
    {
        let mut t = world.fs.tree.lock();
        let Some(ino) = t.names.remove(&from) else {
            return Err(FsError::NotFound { path: from });
        };
        t.unlink(&to);
        t.names.insert(to.clone(), ino);
        t.note(&node, &from, ChangeKind::RenamedTo(to.clone()));
        t.note(&node, &to, ChangeKind::RenamedFrom(from.clone()));
    }
    event(format!("rename {from} -> {to}"));
    Ok(())
}

/// For testers: runs `hook` before every file-system call of the world, on the calling thread
/// (so `labs::thread::current_node()` is the caller). The hook may sleep (a slow disk) or kill
/// the calling node (`current_node().kill()`, then `labs::thread::exit()` for the real
/// backend), which then dies before the call takes effect. Replaces any earlier hook.
pub fn set_fault_hook(hook: impl Fn(&Call<'_>) + Send + Sync + 'static) -> Result<(), FsError> {
    *world()?.fs.hook.lock() = Some(Arc::new(hook));
    Ok(())
}

/// For testers: removes the fault hook.
pub fn clear_fault_hook() {
    if let Ok(w) = world() {
        *w.fs.hook.lock() = None;
    }
}

/// For testers: from now on, record in the [`journal`] every change to a path that starts with
/// `prefix` (creations, writes, renames and removals, with the node and the time).
pub fn watch(prefix: &str) -> Result<(), FsError> {
    world()?.fs.tree.lock().watches.push(prefix.to_string());
    Ok(())
}

/// For testers: every change to a watched path so far, in order.
pub fn journal() -> Vec<Change> {
    world().map(|w| w.fs.tree.lock().journal.clone()).unwrap_or_default()
}

/// For testers: the contents of every file whose path starts with `prefix`, all read at one
/// instant (one scheduling point, then no other thread runs until it returns).
pub fn snapshot(prefix: &str) -> Result<BTreeMap<String, Vec<u8>>, FsError> {
    let world = world()?;
    context::yield_point();
    let t = world.fs.tree.lock();
    Ok(t.names
        .iter()
        .filter(|(p, _)| p.starts_with(prefix))
        .map(|(p, ino)| (p.clone(), t.inodes[ino].data.clone()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::{Backend, World};

    fn both(body: fn()) {
        for backend in [Backend::Sim, Backend::Real] {
            let out = World::builder().seed(7).backend(backend).run(body);
            if let Err(f) = out.result {
                panic!("under {backend}: {}", f.message);
            }
        }
    }

    #[test]
    fn create_write_read_list_remove() {
        both(|| {
            let mut f = create("mr-out-0").unwrap();
            f.write_all(b"a 1\n").unwrap();
            f.write_all(b"b 2\n").unwrap();
            assert_eq!(read_to_string("mr-out-0").unwrap(), "a 1\nb 2\n");
            write("dir/x", b"x").unwrap();
            write("./dir//y", b"y").unwrap();
            assert_eq!(list("").unwrap(), vec!["mr-out-0"]);
            assert_eq!(list(".").unwrap(), vec!["mr-out-0"]);
            assert_eq!(list("dir").unwrap(), vec!["x", "y"]);
            assert!(list("nothing").unwrap().is_empty());
            assert!(exists("dir/y"));
            remove("dir/y").unwrap();
            assert!(!exists("dir/y"));
            assert_eq!(remove("dir/y"), Err(FsError::NotFound { path: "dir/y".into() }));
            assert_eq!(read("nope"), Err(FsError::NotFound { path: "nope".into() }));
            assert!(matches!(create("../x"), Err(FsError::InvalidPath { .. })));
            assert!(matches!(create(""), Err(FsError::InvalidPath { .. })));
            // Truncation: a second create empties the file.
            let _g = create("mr-out-0").unwrap();
            assert_eq!(read("mr-out-0").unwrap(), b"");
        });
    }

    #[test]
    fn rename_replaces_atomically_and_handles_follow_the_file() {
        both(|| {
            write("out", b"old").unwrap();
            let mut tmp = create_temp("", "out-*.tmp").unwrap();
            assert!(tmp.path().starts_with("out-") && tmp.path().ends_with(".tmp"), "{}", tmp.path());
            let tmp_path = tmp.path().to_string();
            tmp.write_all(b"new").unwrap();
            rename(&tmp_path, "out").unwrap();
            assert_eq!(read("out").unwrap(), b"new");
            assert!(!exists(&tmp_path));
            // The handle still writes to the file, now called "out".
            tmp.write_all(b"er").unwrap();
            assert_eq!(read("out").unwrap(), b"newer");
            assert_eq!(rename("gone", "x"), Err(FsError::NotFound { path: "gone".into() }));
            let a = create_temp("d", "t").unwrap();
            let b = create_temp("d", "t").unwrap();
            assert_ne!(a.path(), b.path());
            assert!(a.path().starts_with("d/t"));
        });
    }

    #[test]
    fn a_dead_nodes_writes_and_temporaries_stay() {
        both(|| {
            let node = World::current().node("worker-0");
            let h = node.spawn("main", || {
                let mut f = create_temp("", "mr-tmp-*").unwrap();
                f.write_all(b"half").unwrap();
                crate::thread::current_node().unwrap().kill();
                crate::thread::exit();
            });
            assert!(h.join().is_err());
            let files = list("").unwrap();
            assert_eq!(files.len(), 1, "{files:?}");
            assert!(files[0].starts_with("mr-tmp-"));
            assert_eq!(read(&files[0]).unwrap(), b"half");
        });
    }

    #[test]
    fn the_fault_hook_can_crash_a_node_before_its_rename() {
        both(|| {
            set_fault_hook(|call| {
                if call.op == Op::Rename {
                    crate::thread::current_node().unwrap().kill();
                    crate::thread::exit();
                }
            })
            .unwrap();
            let node = World::current().node("worker-1");
            let h = node.spawn("main", || {
                let mut f = create("tmp").unwrap();
                f.write_all(b"done").unwrap();
                rename("tmp", "final").unwrap();
            });
            assert!(h.join().is_err());
            clear_fault_hook();
            assert!(!exists("final"));
            assert_eq!(read("tmp").unwrap(), b"done");
        });
    }

    #[test]
    fn the_journal_records_changes_to_watched_paths() {
        both(|| {
            watch("mr-out-").unwrap();
            let mut f = create("mr-out-1").unwrap();
            f.write_all(b"ab").unwrap();
            write("mr-tmp", b"xyz").unwrap();
            rename("mr-tmp", "mr-out-1").unwrap();
            remove("mr-out-1").unwrap();
            write("other", b"1").unwrap();
            let j = journal();
            let kinds: Vec<(ChangeKind, Option<u64>)> = j.iter().map(|c| (c.kind.clone(), c.size)).collect();
            assert_eq!(
                kinds,
                vec![
                    (ChangeKind::Created, Some(0)),
                    (ChangeKind::Written, Some(2)),
                    (ChangeKind::RenamedFrom("mr-tmp".into()), Some(3)),
                    (ChangeKind::Removed, None),
                ]
            );
            assert!(j.iter().all(|c| c.node == "tester" && c.path == "mr-out-1"));
            let snap = snapshot("").unwrap();
            assert_eq!(snap.keys().collect::<Vec<_>>(), vec!["other"]);
        });
    }

    #[test]
    fn outside_a_world_calls_fail_in_words() {
        assert_eq!(read("x").unwrap_err(), FsError::OutsideWorld);
        assert!(FsError::OutsideWorld.to_string().contains("outside a labs world"));
    }

    #[test]
    fn one_seed_gives_one_file_system() {
        fn body() {
            let hs: Vec<_> = (0..4)
                .map(|i| {
                    crate::thread::spawn(format!("w{i}"), move || {
                        let mut f = create_temp("", "t-*").unwrap();
                        f.write_all(format!("{i}").as_bytes()).unwrap();
                    })
                })
                .collect();
            for h in hs {
                h.join().unwrap();
            }
            let names = list("").unwrap();
            let contents: Vec<Vec<u8>> = names.iter().map(|n| read(n).unwrap()).collect();
            events::note(format!("{names:?} {contents:?}"));
        }
        let run = || World::builder().seed(11).trace(true).run(body);
        let (a, b) = (run(), run());
        assert!(crate::harness::divergence(&a, &b).is_none());
        let notes = |o: &crate::world::Outcome| {
            o.events.iter().filter(|e| matches!(e.kind, EventKind::Note { .. })).count()
        };
        assert_eq!(notes(&a), 1);
        assert_eq!(a.digest, b.digest);
    }
}
