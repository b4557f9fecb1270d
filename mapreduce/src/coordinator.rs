//! The coordinator (docs/lab1-mapreduce.md): it hands out map tasks, one per input file, then, once
//! every map task is done, the `n_reduce` reduce tasks; it gives a task to another worker if
//! the worker it gave it to has not finished it after ten seconds (it cannot tell a dead worker
//! from a slow one); and [`Coordinator::done`] says when the whole job is finished.
//!
//! The tester makes the coordinator on its own node, registers [`Coordinator::service`] on the
//! network under the name `coordinator`, and calls [`Coordinator::done`] once a second; once it
//! returns true, the tester waits a second and takes the coordinator away (as 6.5840's
//! `mrcoordinator` exits). Handlers run concurrently, each on its own thread: lock shared
//! state.

use crate::rpc::{ExampleArgs, ExampleReply, SERVICE};
use labrpc::Service;
use labs::sync::Arc;
// SOLUTION BEGIN
use crate::rpc::{GetTaskArgs, Task, TaskDoneArgs, TaskKind};
use labs::sync::Mutex;
use labs::time::{Duration, Instant};

/// A task not finished this long after it was handed out is handed out again.
pub const REISSUE_AFTER: Duration = Duration::from_secs(10);

/// Where a task stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    /// Not handed out yet (or its worker gave up on it).
    Idle,
    /// Handed out at this time, not reported done.
    Running(Instant),
    /// Reported done: its output files are in place.
    Done,
}

/// The coordinator's state, behind its lock.
#[derive(Debug)]
struct State {
    files: Vec<String>,
    n_reduce: usize,
    maps: Vec<Status>,
    reduces: Vec<Status>,
}

impl State {
    /// A task of `tasks` to hand out now: an idle one, or one running for too long. Marks it
    /// running.
    fn pick(tasks: &mut [Status], now: Instant) -> Option<usize> {
        let i = tasks.iter().position(|s| match s {
            Status::Idle => true,
            Status::Running(since) => now.duration_since(*since) >= REISSUE_AFTER,
            Status::Done => false,
        })?;
        tasks[i] = Status::Running(now);
        Some(i)
    }

    fn all_done(tasks: &[Status]) -> bool {
        tasks.iter().all(|s| *s == Status::Done)
    }
}
// SOLUTION END

/// The coordinator of one MapReduce job.
pub struct Coordinator {
    // SOLUTION BEGIN
    state: Mutex<State>,
    // SOLUTION ELSE
    // // Your definitions here.
    // SOLUTION END
}

impl Coordinator {
    /// 6.5840's `MakeCoordinator`: a coordinator for a job over the input files `files` (one
    /// map task each) with `n_reduce` reduce tasks. Must return at once.
    pub fn new(files: Vec<String>, n_reduce: usize) -> Coordinator {
        // SOLUTION BEGIN
        let maps = vec![Status::Idle; files.len()];
        Coordinator {
            state: Mutex::new(State { files, n_reduce, maps, reduces: vec![Status::Idle; n_reduce] }),
        }
        // SOLUTION ELSE
        // // Your code here.
        // let _ = (files, n_reduce);
        // Coordinator {}
        // SOLUTION END
    }

    /// The labrpc service with the coordinator's RPC handlers, which the tester registers
    /// under the name `coordinator`.
    pub fn service(self: &Arc<Self>) -> Service {
        let service =
            Service::new(SERVICE).handler("Example", |args: ExampleArgs| ExampleReply { y: args.x + 1 });
        // SOLUTION BEGIN
        let (a, b) = (self.clone(), self.clone());
        service
            .handler("GetTask", move |_: GetTaskArgs| a.get_task())
            .handler("TaskDone", move |args: TaskDoneArgs| b.task_done(args))
        // SOLUTION ELSE
        // // Add your handlers here, e.g.
        // // let me = self.clone();
        // // service.handler("MyMethod", move |args: MyArgs| me.my_method(args))
        // service
        // SOLUTION END
    }

    /// Whether the whole job has finished: every reduce task's output file is in place. The
    /// tester calls it once a second.
    pub fn done(&self) -> bool {
        // SOLUTION BEGIN
        State::all_done(&self.state.lock().reduces)
        // SOLUTION ELSE
        // // Your code here.
        // false
        // SOLUTION END
    }

    // SOLUTION BEGIN
    /// `Coordinator.GetTask`: a map task while any map is not done, then a reduce task while
    /// any reduce is not done, then `Exit`; `Wait` when every remaining task is running and
    /// none has run for too long.
    fn get_task(&self) -> Task {
        let now = Instant::now();
        let mut st = self.state.lock();
        if !State::all_done(&st.maps) {
            return match State::pick(&mut st.maps, now) {
                Some(id) => Task::Map { id, file: st.files[id].clone(), n_reduce: st.n_reduce },
                None => Task::Wait,
            };
        }
        if !State::all_done(&st.reduces) {
            let n_map = st.maps.len();
            return match State::pick(&mut st.reduces, now) {
                Some(id) => Task::Reduce { id, n_map },
                None => Task::Wait,
            };
        }
        Task::Exit
    }

    /// `Coordinator.TaskDone`: marks a task done. A late report, from a worker whose task was
    /// handed out again, changes nothing: the task is done either way, and its output files
    /// (renamed into place, whole) are the same.
    fn task_done(&self, args: TaskDoneArgs) {
        let mut st = self.state.lock();
        let tasks = match args.kind {
            TaskKind::Map => &mut st.maps,
            TaskKind::Reduce => &mut st.reduces,
        };
        if let Some(s) = tasks.get_mut(args.id) {
            *s = Status::Done;
        }
    }
    // SOLUTION END
}
