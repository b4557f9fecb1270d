//! The worker (docs/lab1-mapreduce.md): asks the coordinator for tasks and runs them until the job is
//! done.
//!
//! A map task reads its input file, calls [`App::map`], and partitions the pairs into
//! `n_reduce` intermediate files by [`crate::ihash`] of the key (`mr-X-Y` for map task X and
//! reduce task Y). A reduce task reads its intermediate files, sorts the pairs by key, calls
//! [`App::reduce`] once per distinct key, and writes one line `"<key> <value>\n"` per key to
//! `mr-out-Y`. Files come from `labs::fs`, the world's file system, shared by all workers.
//!
//! A worker can die at any point, leaving half-written files behind: write each file under a
//! temporary name and rename it into place once it is complete, so that no one ever sees a
//! partial file.

use crate::App;
use crate::rpc::{ExampleArgs, ExampleReply, SERVICE};
use labrpc::ClientEnd;
use labs::sync::Arc;
// SOLUTION BEGIN
use crate::KeyValue;
use crate::rpc::{GetTaskArgs, Task, TaskDoneArgs, TaskKind};
use labrpc::CallError;
use labs::fs;
use labs::time::{Duration, sleep};

/// How long a worker waits before asking again when there is nothing to do.
const IDLE_PAUSE: Duration = Duration::from_millis(100);

/// How long a worker waits before re-sending a request that the network lost.
const RETRY_PAUSE: Duration = Duration::from_millis(50);
// SOLUTION END

/// 6.5840's `Worker`: runs tasks from the coordinator, reached through `coordinator`, with
/// the application `app`, and returns when the job is done (or the coordinator is gone).
pub fn worker(coordinator: ClientEnd, app: Arc<dyn App>) {
    // SOLUTION BEGIN
    loop {
        let Some(task) = call::<_, Task>(&coordinator, "GetTask", &GetTaskArgs {}) else {
            return;
        };
        let (kind, id) = match task {
            Task::Map { id, file, n_reduce } => {
                do_map(&*app, id, &file, n_reduce);
                (TaskKind::Map, id)
            }
            Task::Reduce { id, n_map } => {
                do_reduce(&*app, id, n_map);
                (TaskKind::Reduce, id)
            }
            Task::Wait => {
                sleep(IDLE_PAUSE);
                continue;
            }
            Task::Exit => return,
        };
        if call::<_, ()>(&coordinator, "TaskDone", &TaskDoneArgs { kind, id }).is_none() {
            return;
        }
    }
    // SOLUTION ELSE
    // // Your worker implementation here.
    // // Uncomment to send the Example RPC to the coordinator:
    // // call_example(&coordinator);
    // let _ = (coordinator, app);
    // todo!("Lab 1: the worker")
    // SOLUTION END
}

/// 6.5840's `CallExample`: how to make an RPC to the coordinator.
pub fn call_example(coordinator: &ClientEnd) {
    let args = ExampleArgs { x: 99 };
    match coordinator.call::<ExampleArgs, ExampleReply>(&format!("{SERVICE}.Example"), &args) {
        // reply.y should be 100.
        Ok(reply) => tracing::info!("reply.y {}", reply.y),
        Err(e) => tracing::info!("call failed: {e}"),
    }
}

// SOLUTION BEGIN
/// Calls `Coordinator.<method>`. A request or reply lost by an unreliable network is sent
/// again; `None` means the coordinator is gone (the job is over).
fn call<A: serde::Serialize, R: serde::de::DeserializeOwned>(
    coordinator: &ClientEnd,
    method: &str,
    args: &A,
) -> Option<R> {
    let full = format!("{SERVICE}.{method}");
    loop {
        if labs::thread::killed() {
            // Our machine is dead (under the real backend its threads run on until they look).
            labs::thread::exit();
        }
        match coordinator.call::<A, R>(&full, args) {
            Ok(reply) => return Some(reply),
            Err(CallError::RequestDropped { .. } | CallError::ReplyDropped { .. }) => sleep(RETRY_PAUSE),
            Err(CallError::Unreachable { .. } | CallError::ServerDead { .. } | CallError::NetworkClosed) => {
                return None;
            }
            Err(e) => panic!("worker: {e}"),
        }
    }
}

/// Writes `data` to `path` atomically: to a temporary file first (in the directory `tmp`, as
/// Go's `os.CreateTemp` uses the system's, so that no half-written file ever has a name the
/// tester reads as output), renamed into place once it is complete.
fn write_atomically(path: &str, data: &[u8]) {
    let mut tmp = fs::create_temp("tmp", &format!("{path}-*"))
        .unwrap_or_else(|e| panic!("worker: cannot create a temporary file for {path}: {e}"));
    tmp.write_all(data).unwrap_or_else(|e| panic!("worker: cannot write {}: {e}", tmp.path()));
    let tmp_path = tmp.path().to_string();
    drop(tmp);
    fs::rename(&tmp_path, path).unwrap_or_else(|e| panic!("worker: cannot rename {tmp_path} to {path}: {e}"));
}

/// Map task `id`: `file` through the map function into `mr-<id>-<r>` for each reduce task r.
fn do_map(app: &dyn App, id: usize, file: &str, n_reduce: usize) {
    let contents =
        fs::read_to_string(file).unwrap_or_else(|e| panic!("worker: map task {id}: cannot read {file}: {e}"));
    let mut buckets: Vec<Vec<KeyValue>> = vec![Vec::new(); n_reduce];
    for kv in app.map(file, &contents) {
        buckets[crate::ihash(&kv.key) as usize % n_reduce].push(kv);
    }
    for (r, bucket) in buckets.iter().enumerate() {
        let data = postcard::to_allocvec(bucket).expect("key/value pairs encode");
        write_atomically(&format!("mr-{id}-{r}"), &data);
    }
}

/// Reduce task `id`: the files `mr-<m>-<id>` of every map task m, sorted by key, through the
/// reduce function into `mr-out-<id>`.
fn do_reduce(app: &dyn App, id: usize, n_map: usize) {
    let mut kvs: Vec<KeyValue> = Vec::new();
    for m in 0..n_map {
        let name = format!("mr-{m}-{id}");
        let data = fs::read(&name).unwrap_or_else(|e| {
            panic!("worker: reduce task {id}: cannot read {name} ({e}): was it handed out before map task {m} was done?")
        });
        let part: Vec<KeyValue> = postcard::from_bytes(&data)
            .unwrap_or_else(|e| panic!("worker: reduce task {id}: {name} is corrupt: {e}"));
        kvs.extend(part);
    }
    kvs.sort_by(|a, b| a.key.cmp(&b.key));
    let mut out = String::new();
    let mut i = 0;
    while i < kvs.len() {
        let j = i + kvs[i..].iter().take_while(|kv| kv.key == kvs[i].key).count();
        let values: Vec<String> = kvs[i..j].iter().map(|kv| kv.value.clone()).collect();
        let output = app.reduce(&kvs[i].key, &values);
        out.push_str(&format!("{} {output}\n", kvs[i].key));
        i = j;
    }
    write_atomically(&format!("mr-out-{id}"), out.as_bytes());
}
// SOLUTION END
