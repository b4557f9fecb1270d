//! A coordinator and a worker that speak the reference's RPCs ([`mapreduce::rpc`]) and behave
//! as the reference does, with bugs that [`Bugs`] switches on one at a time.

use labrpc::{CallError, ClientEnd, Service};
use labs::fs;
use labs::sync::{Arc, Mutex};
use labs::time::{Duration, Instant, sleep};
use mapreduce::rpc::{GetTaskArgs, SERVICE, Task, TaskDoneArgs, TaskKind};
use mapreduce::{App, KeyValue};

/// The bugs of a broken implementation.
#[derive(Clone, Copy, Debug)]
pub struct Bugs {
    /// Re-issue a running task after this long (`None`: never). The rule is 10 s.
    pub reissue_after: Option<Duration>,
    /// Hand out reduces once every map has been handed out.
    pub reduce_when_maps_assigned: bool,
    /// `done()` once every reduce has been handed out.
    pub done_when_reduces_assigned: bool,
    /// Count reports rather than mark tasks.
    pub count_reports: bool,
    /// Hand out a task only when none is running.
    pub one_at_a_time: bool,
    /// Worker: write files in place.
    pub in_place: bool,
    /// Worker: exit on `Wait`.
    pub exit_when_idle: bool,
    /// Worker: no pause on `Wait`.
    pub busy_poll: bool,
    /// Worker: exit on any failed RPC.
    pub give_up_on_lost_rpc: bool,
}

impl Bugs {
    /// No bug: the reference's behaviour.
    pub const NONE: Bugs = Bugs {
        reissue_after: Some(Duration::from_secs(10)),
        reduce_when_maps_assigned: false,
        done_when_reduces_assigned: false,
        count_reports: false,
        one_at_a_time: false,
        in_place: false,
        exit_when_idle: false,
        busy_poll: false,
        give_up_on_lost_rpc: false,
    };
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Idle,
    Running(Instant),
    Done,
}

struct State {
    files: Vec<String>,
    n_reduce: usize,
    maps: Vec<Status>,
    reduces: Vec<Status>,
    maps_reported: usize,
    reduces_reported: usize,
}

/// The toy coordinator.
pub struct Coordinator {
    st: Mutex<State>,
    bugs: Bugs,
}

impl Coordinator {
    /// A coordinator for `files` and `n_reduce` reduce tasks, with `bugs`.
    pub fn new(files: Vec<String>, n_reduce: usize, bugs: Bugs) -> Coordinator {
        let maps = vec![Status::Idle; files.len()];
        let st = State {
            files,
            n_reduce,
            maps,
            reduces: vec![Status::Idle; n_reduce],
            maps_reported: 0,
            reduces_reported: 0,
        };
        Coordinator { st: Mutex::new(st), bugs }
    }

    /// The service.
    pub fn service(me: &Arc<Coordinator>) -> Service {
        let (a, b) = (me.clone(), me.clone());
        Service::new(SERVICE)
            .handler("GetTask", move |_: GetTaskArgs| a.get_task())
            .handler("TaskDone", move |args: TaskDoneArgs| b.task_done(args))
    }

    fn all(tasks: &[Status], f: impl Fn(&Status) -> bool) -> bool {
        tasks.iter().all(f)
    }

    fn maps_over(&self, st: &State) -> bool {
        if self.bugs.reduce_when_maps_assigned {
            Self::all(&st.maps, |s| *s != Status::Idle)
        } else if self.bugs.count_reports {
            st.maps_reported >= st.maps.len()
        } else {
            Self::all(&st.maps, |s| *s == Status::Done)
        }
    }

    fn pick(&self, tasks: &mut [Status], now: Instant) -> Option<usize> {
        let after = self.bugs.reissue_after;
        let i = tasks.iter().position(|s| match s {
            Status::Idle => true,
            Status::Running(t) => after.is_some_and(|a| now.duration_since(*t) >= a),
            Status::Done => false,
        })?;
        tasks[i] = Status::Running(now);
        Some(i)
    }

    fn get_task(&self) -> Task {
        let now = Instant::now();
        let mut st = self.st.lock();
        let running = st.maps.iter().chain(&st.reduces).any(|s| matches!(s, Status::Running(_)));
        if self.bugs.one_at_a_time && running {
            return Task::Wait;
        }
        if !self.maps_over(&st) {
            let mut maps = std::mem::take(&mut st.maps);
            let picked = self.pick(&mut maps, now);
            st.maps = maps;
            return match picked {
                Some(id) => Task::Map { id, file: st.files[id].clone(), n_reduce: st.n_reduce },
                None => Task::Wait,
            };
        }
        if !self.done_locked(&st) {
            let n_map = st.maps.len();
            let mut reduces = std::mem::take(&mut st.reduces);
            let picked = self.pick(&mut reduces, now);
            st.reduces = reduces;
            return match picked {
                Some(id) => Task::Reduce { id, n_map },
                None => Task::Wait,
            };
        }
        Task::Exit
    }

    fn task_done(&self, args: TaskDoneArgs) {
        let mut st = self.st.lock();
        match args.kind {
            TaskKind::Map => {
                st.maps_reported += 1;
                st.maps[args.id] = Status::Done;
            }
            TaskKind::Reduce => {
                st.reduces_reported += 1;
                st.reduces[args.id] = Status::Done;
            }
        }
    }

    fn done_locked(&self, st: &State) -> bool {
        if self.bugs.done_when_reduces_assigned {
            Self::all(&st.reduces, |s| *s != Status::Idle)
        } else if self.bugs.count_reports {
            st.reduces_reported >= st.n_reduce
        } else {
            Self::all(&st.reduces, |s| *s == Status::Done)
        }
    }

    /// `done()`.
    pub fn done(&self) -> bool {
        self.done_locked(&self.st.lock())
    }
}

/// Calls `Coordinator.<method>` as the reference does (retrying lost RPCs), or, with
/// `give_up_on_lost_rpc`, gives up at the first failure.
fn call<A: serde::Serialize, R: serde::de::DeserializeOwned>(
    end: &ClientEnd,
    method: &str,
    args: &A,
    bugs: Bugs,
) -> Option<R> {
    loop {
        if labs::thread::killed() {
            labs::thread::exit();
        }
        match end.call::<A, R>(&format!("{SERVICE}.{method}"), args) {
            Ok(r) => return Some(r),
            Err(CallError::RequestDropped { .. } | CallError::ReplyDropped { .. })
                if !bugs.give_up_on_lost_rpc =>
            {
                sleep(Duration::from_millis(50));
            }
            Err(_) => return None,
        }
    }
}

fn write(path: &str, data: &[u8], bugs: Bugs) {
    if bugs.in_place {
        let mut f = fs::create(path).expect("create");
        // In pieces, as a writer that formats line by line does.
        for chunk in data.chunks(4096) {
            f.write_all(chunk).expect("write");
        }
        return;
    }
    let mut tmp = fs::create_temp("tmp", &format!("{path}-*")).expect("create_temp");
    tmp.write_all(data).expect("write");
    let t = tmp.path().to_string();
    drop(tmp);
    fs::rename(&t, path).expect("rename");
}

/// The toy worker.
pub fn worker(end: ClientEnd, app: Arc<dyn App>, bugs: Bugs) {
    loop {
        let Some(task) = call::<_, Task>(&end, "GetTask", &GetTaskArgs {}, bugs) else { return };
        let (kind, id) = match task {
            Task::Map { id, file, n_reduce } => {
                let text = fs::read_to_string(&file).expect("read the input");
                let mut buckets: Vec<Vec<KeyValue>> = vec![Vec::new(); n_reduce];
                for kv in app.map(&file, &text) {
                    buckets[mapreduce::ihash(&kv.key) as usize % n_reduce].push(kv);
                }
                for (r, b) in buckets.iter().enumerate() {
                    write(&format!("mr-{id}-{r}"), &postcard::to_allocvec(b).expect("encode"), bugs);
                }
                (TaskKind::Map, id)
            }
            Task::Reduce { id, n_map } => {
                let mut kvs: Vec<KeyValue> = Vec::new();
                for m in 0..n_map {
                    let data = fs::read(&format!("mr-{m}-{id}")).expect("read an intermediate file");
                    kvs.extend(postcard::from_bytes::<Vec<KeyValue>>(&data).expect("decode"));
                }
                kvs.sort_by(|a, b| a.key.cmp(&b.key));
                let mut out = String::new();
                let mut i = 0;
                while i < kvs.len() {
                    let j = i + kvs[i..].iter().take_while(|kv| kv.key == kvs[i].key).count();
                    let values: Vec<String> = kvs[i..j].iter().map(|kv| kv.value.clone()).collect();
                    out.push_str(&format!("{} {}\n", kvs[i].key, app.reduce(&kvs[i].key, &values)));
                    i = j;
                }
                write(&format!("mr-out-{id}"), out.as_bytes(), bugs);
                (TaskKind::Reduce, id)
            }
            Task::Wait if bugs.exit_when_idle => return,
            Task::Wait => {
                if !bugs.busy_poll {
                    sleep(Duration::from_millis(100));
                }
                continue;
            }
            Task::Exit => return,
        };
        if call::<_, ()>(&end, "TaskDone", &TaskDoneArgs { kind, id }, bugs).is_none() {
            return;
        }
    }
}
