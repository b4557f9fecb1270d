//! The test applications of the Lab 1 suite (6.5840's `src/mrapps`), as
//! [`App`]s instead of Go plugins, plus the two the extra tests need ([`Late`], [`Slow`]).
//!
//! What 6.5840's apps get from the operating system they get from the world: files from
//! `labs::fs` (the working directory is its root), time and randomness from `labs`, a process id
//! from the worker's node name, "is that process alive?" from [`Workers`], and `os.Exit(1)` from
//! [`crash_self`].

use labs::fs;
use labs::sync::{Arc, Mutex};
use labs::time::{Duration, Instant, sleep};
use labs::world::Node;
use mapreduce::{App, KeyValue};
use std::collections::{BTreeMap, BTreeSet};

/// The worker nodes of a run, by name: what `mtiming` and `rtiming` ask when they count the
/// workers running beside them (6.5840 signals each pid with 0). A worker is alive until its
/// node is killed; the tester kills a worker's node when its worker returns.
#[derive(Clone, Default)]
pub struct Workers(Arc<Mutex<BTreeMap<String, Node>>>);

impl Workers {
    /// Registers a worker's node.
    pub fn add(&self, node: &Node) {
        self.0.lock().insert(node.name().to_string(), node.clone());
    }

    /// Whether the worker called `name` is alive.
    pub fn is_alive(&self, name: &str) -> bool {
        self.0.lock().get(name).is_some_and(|n| !n.is_killed())
    }

    /// Kills every worker's node (at the end of a test that passed).
    pub fn kill_all(&self) {
        let nodes: Vec<Node> = self.0.lock().values().cloned().collect();
        for n in nodes {
            n.kill();
        }
    }

    /// The names of the workers alive now.
    pub fn alive(&self) -> Vec<String> {
        self.0.lock().iter().filter(|(_, n)| !n.is_killed()).map(|(k, _)| k.clone()).collect()
    }
}

/// The calling worker's name (its "pid").
pub fn me() -> String {
    labs::thread::current_node().map(|n| n.name().to_string()).unwrap_or_else(|| "outside".into())
}

/// 6.5840's `os.Exit(1)` inside an application: kills the calling worker's node, at once (the
/// thread unwinds; what it wrote to files stays).
pub fn crash_self() -> ! {
    if let Some(n) = labs::thread::current_node() {
        n.kill();
    }
    labs::thread::exit()
}

/// The words of `contents`: maximal runs of letters (Go's `FieldsFunc` with `!IsLetter`).
fn words(contents: &str) -> impl Iterator<Item = &str> {
    contents.split(|c: char| !c.is_alphabetic()).filter(|w| !w.is_empty())
}

/// `wc`: word count. Map emits `(word, "1")` per word; reduce counts the values.
pub struct Wc;

impl App for Wc {
    fn map(&self, _filename: &str, contents: &str) -> Vec<KeyValue> {
        words(contents).map(|w| KeyValue::new(w, "1")).collect()
    }
    fn reduce(&self, _key: &str, values: &[String]) -> String {
        values.len().to_string()
    }
}

/// `indexer`: an inverted index. Map emits `(word, document)` once per distinct word of the
/// document; reduce gives `"<count> <documents sorted, joined by commas>"`.
pub struct Indexer;

impl App for Indexer {
    fn map(&self, filename: &str, contents: &str) -> Vec<KeyValue> {
        let distinct: BTreeSet<&str> = words(contents).collect();
        distinct.into_iter().map(|w| KeyValue::new(w, filename)).collect()
    }
    fn reduce(&self, _key: &str, values: &[String]) -> String {
        let mut docs = values.to_vec();
        docs.sort();
        format!("{} {}", docs.len(), docs.join(","))
    }
}

/// 6.5840's `nparallel`: writes the marker `mr-worker-<phase>-<me>`, counts the markers of
/// workers alive now (itself included), sleeps 1 s, and removes its marker.
fn nparallel(workers: &Workers, phase: &str) -> usize {
    let marker = format!("mr-worker-{phase}-{}", me());
    fs::write(&marker, b"x").unwrap_or_else(|e| panic!("{phase} app: cannot write {marker}: {e}"));
    let prefix = format!("mr-worker-{phase}-");
    let names = fs::list("").unwrap_or_else(|e| panic!("{phase} app: cannot list the directory: {e}"));
    let n = names.iter().filter_map(|n| n.strip_prefix(&prefix)).filter(|w| workers.is_alive(w)).count();
    sleep(Duration::from_secs(1));
    fs::remove(&marker).unwrap_or_else(|e| panic!("{phase} app: cannot remove {marker}: {e}"));
    n
}

/// `mtiming`: map parallelism. Each map takes 1 s and counts the map workers running with it;
/// it emits `("times-<me>", <start time>)` and `("parallel-<me>", <count>)`; reduce joins the
/// sorted values with spaces.
pub struct MTiming(pub Workers);

impl App for MTiming {
    fn map(&self, _filename: &str, _contents: &str) -> Vec<KeyValue> {
        let ts = Instant::now().as_nanos() as f64 / 1e9;
        let me = me();
        let n = nparallel(&self.0, "map");
        vec![
            KeyValue::new(format!("times-{me}"), format!("{ts:.1}")),
            KeyValue::new(format!("parallel-{me}"), n.to_string()),
        ]
    }
    fn reduce(&self, _key: &str, values: &[String]) -> String {
        let mut v = values.to_vec();
        v.sort();
        v.join(" ")
    }
}

/// `rtiming`: reduce parallelism. Map emits the keys `a` to `j`; each reduce takes 1 s and
/// returns how many reduce workers ran with it.
pub struct RTiming(pub Workers);

impl App for RTiming {
    fn map(&self, _filename: &str, _contents: &str) -> Vec<KeyValue> {
        ('a'..='j').map(|c| KeyValue::new(c.to_string(), "1")).collect()
    }
    fn reduce(&self, _key: &str, _values: &[String]) -> String {
        nparallel(&self.0, "reduce").to_string()
    }
}

/// `jobcount`: each map writes a fresh marker `mr-worker-jobcount-<me>-<n>` and takes 2 to 5
/// s; the reduce of the one key `a` counts the markers: the number of map calls.
#[derive(Default)]
pub struct JobCount {
    /// Map calls so far, per worker (6.5840's per-process counter).
    count: Mutex<BTreeMap<String, usize>>,
}

impl App for JobCount {
    fn map(&self, _filename: &str, _contents: &str) -> Vec<KeyValue> {
        let me = me();
        let n = {
            let mut c = self.count.lock();
            let n = c.entry(me.clone()).or_insert(0);
            *n += 1;
            *n - 1
        };
        let f = format!("mr-worker-jobcount-{me}-{n}");
        fs::write(&f, b"x").unwrap_or_else(|e| panic!("jobcount app: cannot write {f}: {e}"));
        sleep(Duration::from_millis(2000 + labs::rand::gen_range(0..3000)));
        vec![KeyValue::new("a", "x")]
    }
    fn reduce(&self, _key: &str, _values: &[String]) -> String {
        let names = fs::list("").unwrap_or_else(|e| panic!("jobcount app: cannot list the directory: {e}"));
        names.iter().filter(|n| n.starts_with("mr-worker-jobcount")).count().to_string()
    }
}

/// `early_exit`: map emits `(filename, "1")`; the reduces of the keys that contain `sherlock`
/// or `tom` take 3 s; a reduce returns the number of values.
pub struct EarlyExit;

impl App for EarlyExit {
    fn map(&self, filename: &str, _contents: &str) -> Vec<KeyValue> {
        vec![KeyValue::new(filename, "1")]
    }
    fn reduce(&self, key: &str, values: &[String]) -> String {
        if key.contains("sherlock") || key.contains("tom") {
            sleep(Duration::from_secs(3));
        }
        values.len().to_string()
    }
}

/// 6.5840's `maybeCrash`, at the start of every map and reduce of [`Crash`]: with probability
/// 0.33 the worker dies; with probability 0.33 it stalls for up to 10 s.
fn maybe_crash() {
    let r = labs::rand::gen_range(0..1000);
    if r < 330 {
        crash_self();
    } else if r < 660 {
        sleep(Duration::from_millis(labs::rand::gen_range(0..10_000)));
    }
}

/// `crash`: [`NoCrash`]'s output, from workers that die or stall a third of the time each.
pub struct Crash;

impl App for Crash {
    fn map(&self, filename: &str, contents: &str) -> Vec<KeyValue> {
        maybe_crash();
        NoCrash.map(filename, contents)
    }
    fn reduce(&self, key: &str, values: &[String]) -> String {
        maybe_crash();
        NoCrash.reduce(key, values)
    }
}

/// `nocrash`: map emits `a` = the file name, `b` = its length, `c` = the contents' length and
/// `d` = `xyzzy`; reduce joins the sorted values with spaces.
pub struct NoCrash;

impl App for NoCrash {
    fn map(&self, filename: &str, contents: &str) -> Vec<KeyValue> {
        vec![
            KeyValue::new("a", filename),
            KeyValue::new("b", filename.len().to_string()),
            KeyValue::new("c", contents.len().to_string()),
            KeyValue::new("d", "xyzzy"),
        ]
    }
    fn reduce(&self, _key: &str, values: &[String]) -> String {
        let mut v = values.to_vec();
        v.sort();
        v.join(" ")
    }
}

/// For `late_report_1`: [`Wc`], except that the k-th map call of some files first sleeps
/// (`stalls[file][k]`, from the first call on), so that a worker is still busy with a task
/// when the coordinator gives it to another, and reports it late.
pub struct Late {
    stalls: BTreeMap<String, Vec<Duration>>,
    calls: Mutex<BTreeMap<String, usize>>,
}

impl Late {
    /// Word count with the map stalls `stalls`: file -> the sleep of its first, second, ...
    /// call.
    pub fn new(stalls: BTreeMap<String, Vec<Duration>>) -> Late {
        Late { stalls, calls: Mutex::new(BTreeMap::new()) }
    }
}

impl App for Late {
    fn map(&self, filename: &str, contents: &str) -> Vec<KeyValue> {
        let k = {
            let mut c = self.calls.lock();
            let k = c.entry(filename.to_string()).or_insert(0);
            *k += 1;
            *k - 1
        };
        if let Some(d) = self.stalls.get(filename).and_then(|s| s.get(k)) {
            sleep(*d);
        }
        Wc.map(filename, contents)
    }
    fn reduce(&self, key: &str, values: &[String]) -> String {
        Wc.reduce(key, values)
    }
}

/// For `no_busy_poll_1`: [`Wc`] whose maps take `0` (a long task, while the other workers have
/// nothing to do).
pub struct Slow(pub Duration);

impl App for Slow {
    fn map(&self, filename: &str, contents: &str) -> Vec<KeyValue> {
        sleep(self.0);
        Wc.map(filename, contents)
    }
    fn reduce(&self, key: &str, values: &[String]) -> String {
        Wc.reduce(key, values)
    }
}

/// 6.5840's `mrsequential`: every input through `app`'s map, the pairs sorted by key, one
/// reduce per distinct key; the output lines `"<key> <value>"`, sorted.
pub fn sequential(app: &dyn App, inputs: &[(String, String)]) -> Vec<String> {
    let mut kvs: Vec<KeyValue> = inputs.iter().flat_map(|(name, text)| app.map(name, text)).collect();
    kvs.sort_by(|a, b| a.key.cmp(&b.key));
    let mut out = Vec::new();
    let mut i = 0;
    while i < kvs.len() {
        let j = i + kvs[i..].iter().take_while(|kv| kv.key == kvs[i].key).count();
        let values: Vec<String> = kvs[i..j].iter().map(|kv| kv.value.clone()).collect();
        out.push(format!("{} {}", kvs[i].key, app.reduce(&kvs[i].key, &values)));
        i = j;
    }
    out.sort();
    out
}
