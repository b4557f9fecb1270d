//! The RPCs between workers and the coordinator: their argument and reply types. Add your own;
//! the `Example` RPC is 6.5840's sample.

use serde::{Deserialize, Serialize};

/// The name of the coordinator's service: methods are `Coordinator.<Method>`.
pub const SERVICE: &str = "Coordinator";

/// Arguments of the sample RPC `Coordinator.Example`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExampleArgs {
    /// A number.
    pub x: i64,
}

/// Reply of the sample RPC: `y = x + 1`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExampleReply {
    /// The number plus one.
    pub y: i64,
}

// SOLUTION BEGIN
/// Arguments of `Coordinator.GetTask`: a worker asks for work.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetTaskArgs {}

/// Reply of `Coordinator.GetTask`: what the worker should do next.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Task {
    /// Run map task `id` on input `file`, partitioning its output into `n_reduce` files.
    Map {
        /// The map task's number (the X of `mr-X-Y`).
        id: usize,
        /// The input file.
        file: String,
        /// The number of reduce tasks.
        n_reduce: usize,
    },
    /// Run reduce task `id` over the intermediate files of the `n_map` map tasks.
    Reduce {
        /// The reduce task's number (the Y of `mr-X-Y`, the X of `mr-out-X`).
        id: usize,
        /// The number of map tasks.
        n_map: usize,
    },
    /// Nothing to do right now: every task is running elsewhere. Ask again soon.
    Wait,
    /// The job is done: exit.
    Exit,
}

/// Which kind of task a report is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaskKind {
    /// A map task.
    Map,
    /// A reduce task.
    Reduce,
}

/// Arguments of `Coordinator.TaskDone`: a worker finished a task (its output files are in
/// place).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskDoneArgs {
    /// The task's kind.
    pub kind: TaskKind,
    /// The task's number.
    pub id: usize,
}
// SOLUTION ELSE
// // Add your RPC definitions here.
// SOLUTION END
